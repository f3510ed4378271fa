import { availableParallelism, platform, arch } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { budgetSettings, type BudgetName, type BudgetSettings } from './budget.js';
import { StudyError } from './errors.js';
import { outcomeOf, type RecordedOutcome } from './outcome.js';
import { expectedStudySeconds, runSeconds } from './estimate.js';
import { planRuns } from './plan.js';
import { QUESTIONS } from './questions/index.js';
import type { RunResult } from './results.js';
import type { StudyMeta } from './study-report.js';
import { loadStudyData, shareStudyData } from './study-data.js';
import { runOnWorkers } from './worker-pool.js';
import { writeStudyReport } from './write-report.js';

/** Reported once before the first run (done 0), after every run, and once before the report is written. */
export interface StudyProgress {
  phase: 'training' | 'report';
  /** Runs finished, of `total`. */
  done: number;
  total: number;
  /** The run that just finished. */
  run?: { key: string; accuracy: number; diverged: boolean; outcome: RecordedOutcome; elapsedSec: number };
  elapsedSec: number;
  /** Estimated seconds left, from the cost of the runs still to do; undefined before the first run ends. */
  etaSec?: number;
  /** Before the first run (done 0): the study's expected wall seconds from measured per-run times (estimate.ts). */
  expectedSec?: number;
}

export interface RunStudyOptions {
  /** Folder for report.md, report.html, results.json and figures/ (created if missing). */
  out: string;
  /** Default 'quick'. */
  budget?: BudgetName;
  /** Worker threads. Default: min(2, available cores). */
  workers?: number;
  onProgress?: (progress: StudyProgress) => void;
  /** Seconds one run may take before it is stopped and the study fails naming it. Default: no limit. */
  runDeadlineSec?: number;
}

export interface StudyOutcome {
  out: string;
  /** Absolute paths of everything written. */
  files: string[];
  meta: StudyMeta;
  runs: RunResult[];
}

/**
 * The BN/dropout study (issue 9): trains every configuration its five questions need on
 * MNIST, once per seed, on worker threads, then writes report.md, a standalone
 * report.html with the charts inlined, results.json with every run, and figures/ (each
 * chart as SVG and as its Vega-Lite specification).
 */
export async function runStudy(options: RunStudyOptions): Promise<StudyOutcome> {
  const settings: BudgetSettings = budgetSettings(options.budget ?? 'quick');
  const workers = options.workers ?? Math.max(1, Math.min(2, availableParallelism()));
  if (!Number.isInteger(workers) || workers < 1) throw new StudyError('STUDY_ERR_BAD_OPTION', `workers must be a positive integer, got ${workers}`);
  if (options.out.trim() === '') throw new StudyError('STUDY_ERR_BAD_OPTION', 'out must name a folder');
  const out = path.resolve(options.out);
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;

  const data = loadStudyData(settings);
  const requests = planRuns(QUESTIONS, settings);
  const sizes = { train: data.train.size, test: data.test.size };
  const costOf = new Map(requests.map((r) => [r.key, runSeconds(r, settings, sizes)]));
  const totalCost = [...costOf.values()].reduce((a, b) => a + b, 0);
  const expectedSec = expectedStudySeconds(requests, settings, { sizes, workers, cores: availableParallelism() });
  let doneCost = 0;
  let done = 0;
  options.onProgress?.({ phase: 'training', done, total: requests.length, elapsedSec: elapsed(), expectedSec });
  const runs = await runOnWorkers(requests, {
    workers,
    init: { shared: shareStudyData(data), settings },
    runDeadlineSec: options.runDeadlineSec,
    onResult: (run) => {
      done++;
      doneCost += costOf.get(run.key) ?? 0;
      options.onProgress?.({
        phase: 'training',
        done,
        total: requests.length,
        run: { key: run.key, accuracy: run.test.accuracy, diverged: run.diverged, outcome: outcomeOf(run), elapsedSec: run.elapsedSec },
        elapsedSec: elapsed(),
        etaSec: (elapsed() * (totalCost - doneCost)) / doneCost,
      });
    },
  });
  options.onProgress?.({ phase: 'report', done, total: requests.length, elapsedSec: elapsed() });

  const meta: StudyMeta = {
    settings,
    trainSamples: data.train.size,
    testSamples: data.test.size,
    // The budget's own schedule: questions 2 and 3 set theirs.
    stepsPerRun: runs.find((r) => r.config.ranks === undefined && r.config.trainSamples === undefined && r.config.epochs === undefined)?.steps ?? 0,
    runs: runs.length,
    configurations: requests.length / settings.seeds.length,
    workers,
    elapsedSec: elapsed(),
    expectedSec,
    generatedAt: new Date().toISOString(),
    environment: { node: process.versions.node, tfjs: tf.version.tfjs, backend: 'wasm', cpus: availableParallelism(), platform: `${platform()}-${arch()}` },
  };
  const files = await writeStudyReport(out, meta, runs);
  return { out, files, meta, runs };
}
