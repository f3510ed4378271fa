import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, platform, arch } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { budgetSettings, type BudgetName, type BudgetSettings } from './budget.js';
import { StudyError } from './errors.js';
import { estimatedCost, planRuns } from './plan.js';
import { QUESTIONS } from './questions/index.js';
import { ResultsIndex } from './questions/results-index.js';
import { chartsOf } from './report-document.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import { renderSvg } from './render-svg.js';
import type { RunResult } from './results.js';
import { buildStudyReport, type StudyMeta } from './study-report.js';
import { loadStudyData, shareStudyData } from './study-data.js';
import { runOnWorkers } from './worker-pool.js';

export interface StudyProgress {
  phase: 'training' | 'report';
  /** Runs finished, of `total`. */
  done: number;
  total: number;
  /** The run that just finished. */
  run?: { key: string; accuracy: number; diverged: boolean; elapsedSec: number };
  elapsedSec: number;
  /** Estimated seconds left, from the cost of the runs still to do; undefined before the first run ends. */
  etaSec?: number;
}

export interface RunStudyOptions {
  /** Folder for report.md, report.html, results.json and figures/ (created if missing). */
  out: string;
  /** Default 'quick'. */
  budget?: BudgetName;
  /** Worker threads. Default: min(2, available cores). */
  workers?: number;
  onProgress?: (progress: StudyProgress) => void;
}

export interface StudyOutcome {
  out: string;
  /** Absolute paths of everything written. */
  files: string[];
  meta: StudyMeta;
  runs: RunResult[];
}

/** The study's raw results, as written to results.json. */
export interface StudyResults {
  study: 'bn-dropout';
  formatVersion: 1;
  meta: StudyMeta;
  questions: { id: string; title: string; headline: string; findings: string[] }[];
  runs: RunResult[];
}

export const REPORT_FILES = { markdown: 'report.md', html: 'report.html', json: 'results.json', figures: 'figures' } as const;

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
  const costOf = new Map(requests.map((r) => [r.key, estimatedCost(r, settings)]));
  const totalCost = [...costOf.values()].reduce((a, b) => a + b, 0);
  let doneCost = 0;
  let done = 0;
  const runs = await runOnWorkers(requests, {
    workers,
    init: { shared: shareStudyData(data), settings },
    onResult: (run) => {
      done++;
      doneCost += costOf.get(run.key) ?? 0;
      options.onProgress?.({
        phase: 'training',
        done,
        total: requests.length,
        run: { key: run.key, accuracy: run.test.accuracy, diverged: run.diverged, elapsedSec: run.elapsedSec },
        elapsedSec: elapsed(),
        etaSec: (elapsed() * (totalCost - doneCost)) / doneCost,
      });
    },
  });
  options.onProgress?.({ phase: 'report', done, total: requests.length, elapsedSec: elapsed() });

  const index = new ResultsIndex(runs);
  const analyzed = QUESTIONS.map((q) => ({ id: q.id, title: q.title, short: q.short, report: q.analyze(index, settings) }));
  const meta: StudyMeta = {
    settings,
    trainSamples: data.train.size,
    testSamples: data.test.size,
    stepsPerRun: runs[0]?.steps ?? 0,
    runs: runs.length,
    configurations: requests.length / settings.seeds.length,
    workers,
    elapsedSec: elapsed(),
    generatedAt: new Date().toISOString(),
    environment: { node: process.versions.node, tfjs: tf.version.tfjs, backend: 'wasm', cpus: availableParallelism(), platform: `${platform()}-${arch()}` },
  };
  const document = buildStudyReport(meta, analyzed);

  const figures = path.join(out, REPORT_FILES.figures);
  mkdirSync(figures, { recursive: true });
  const files: string[] = [];
  const write = (file: string, text: string): void => {
    writeFileSync(file, text);
    files.push(file);
  };
  const svgs = new Map<string, string>();
  for (const c of chartsOf(document)) {
    const svg = await renderSvg(c.spec);
    svgs.set(c.id, svg);
    write(path.join(figures, `${c.id}.svg`), svg);
    write(path.join(figures, `${c.id}.vl.json`), `${JSON.stringify(c.spec, null, 2)}\n`);
  }
  write(path.join(out, REPORT_FILES.markdown), renderMarkdown(document, REPORT_FILES.figures));
  write(path.join(out, REPORT_FILES.html), renderHtml(document, svgs));
  const results: StudyResults = {
    study: 'bn-dropout',
    formatVersion: 1,
    meta,
    questions: analyzed.map((q) => ({
      id: q.id,
      title: q.title,
      headline: q.report.headline,
      findings: q.report.section.blocks.flatMap((b) => (b.kind === 'findings' ? b.sentences : [])),
    })),
    runs,
  };
  write(path.join(out, REPORT_FILES.json), `${JSON.stringify(results, null, 1)}\n`);
  return { out, files, meta, runs };
}
