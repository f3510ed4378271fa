import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Coordinator } from '@tfjs-ddp/coordinator';
import type { JobConfig, RankStepReport } from '@tfjs-ddp/protocol';
import { emit, intList, parseFlags } from '../common/args.js';

/**
 * bench/overlap: where a step's time goes with the gradient all-reduce blocking after
 * backward (bucket size 0) and overlapping it (buckets started as backward delivers their
 * gradients), for P processes of one rank each — what `train --procs P` runs (a
 * coordinator, P `worker --threads 1` processes) — SyncBN on. The configurations
 * alternate within each repetition, so a machine whose load drifts (shared cores) treats
 * them alike. Per configuration, over every step after the warm-up of every repetition:
 *  - the split each rank reports (mean over ranks, then over steps): computeMs, syncBnMs,
 *    allReduceMs (the wait after backward), applyMs;
 *  - stepMs: the slowest rank's compute + syncBn + allReduce + apply (the metrics' stepMs);
 *  - wallMs: time between two steps' records at the coordinator (the step as the job sees it);
 *  - afterLastBackwardMs: from the moment the last rank's backward ended to the moment a
 *    rank's gradients were reduced (TFJS_DDP_TEST_STEP_TRACE): the all-reduce's own share of
 *    the step, without the wait for the slowest rank that allReduceMs also holds.
 * Means and medians; the summary line gives overlapped / blocking ratios.
 *
 *   node bench/dist/overlap/main.js [--procs 2,4] [--buckets 0,65536] [--steps 60] [--warmup 10] [--reps 3]
 *                                   [--model cnn-bn] [--global-batch 64] [--dataset mnist]
 */
const flags = parseFlags(process.argv.slice(2));
const procsList = intList(flags.get('procs') ?? '2,4');
const bucketList = (flags.get('buckets') ?? '0,65536').split(',').map(Number);
const steps = Number(flags.get('steps') ?? 60);
const warmup = Number(flags.get('warmup') ?? 10);
const reps = Number(flags.get('reps') ?? 3);
const model = flags.get('model') ?? 'cnn-bn';
const globalBatch = Number(flags.get('global-batch') ?? 64);
const dataset = flags.get('dataset') ?? 'mnist';
const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../../apps/cli/dist/main.js');
const config: JobConfig = { model, dataset, epochs: 100, globalBatch, optimizer: { name: 'sgd', learningRate: 0.01 }, seed: 1, maxSteps: steps };
const SPLIT = ['computeMs', 'syncBnMs', 'allReduceMs', 'applyMs', 'waitMs'] as const;

interface StepSample {
  wallMs: number;
  stepMs: number;
  split: Record<(typeof SPLIT)[number], number>;
}

interface TraceLine {
  rank: number;
  step: number;
  backwardEnd: number;
  reduced: number;
  overlap?: { buckets: number; captured: number; startedAfter: number[] };
}

async function job(procs: number, bucketBytes: number): Promise<{ samples: StepSample[]; afterLastBackward: number[]; startedAfter?: number[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-overlap-'));
  const token = path.join(dir, 'token');
  writeFileSync(token, 'bench\n');
  const trace = path.join(dir, 'steps.jsonl');
  const coordinator = await Coordinator.start({ port: 0, host: '127.0.0.1', token: 'bench', workers: procs, config, outDir: dir, waitTimeoutMs: 120_000 });
  const samples: StepSample[] = [];
  let last = 0;
  coordinator.onRecord((record) => {
    if (record.kind !== 'step') return;
    const now = performance.now();
    if (record.step > warmup && last > 0) {
      const split = Object.fromEntries(SPLIT.map((k) => [k, mean(record.ranks.map((r: RankStepReport) => r[k]))])) as StepSample['split'];
      samples.push({ wallMs: now - last, stepMs: record.stepMs, split });
    }
    last = now;
  });
  const env = { ...process.env, TFJS_DDP_TEST_BUCKET_BYTES: String(bucketBytes), TFJS_DDP_TEST_STEP_TRACE: trace };
  const children: ChildProcess[] = [];
  for (let i = 0; i < procs; i++) {
    const worker = ['worker', '--coordinator', `ws://127.0.0.1:${coordinator.port}`, '--token-file', token, '--threads', '1', '--advertise-host', '127.0.0.1'];
    const args = [cli, ...worker, '--listen-host', '127.0.0.1', '--backend', 'wasm', '--log-level', 'warn'];
    children.push(spawn(process.execPath, args, { stdio: 'ignore', env }));
  }
  try {
    await coordinator.run();
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
  const lines = existsSync(trace) ? readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TraceLine) : [];
  rmSync(dir, { recursive: true, force: true });
  const bySteps = new Map<number, TraceLine[]>();
  for (const l of lines) if (l.step > warmup) bySteps.set(l.step, [...(bySteps.get(l.step) ?? []), l]);
  const afterLastBackward = [...bySteps.values()]
    .filter((ls) => ls.length === procs)
    .map((ls) => mean(ls.map((l) => l.reduced)) - Math.max(...ls.map((l) => l.backwardEnd)));
  const startedAfter = lines.find((l) => l.overlap !== undefined)?.overlap?.startedAfter;
  return { samples, afterLastBackward, ...(startedAfter === undefined ? {} : { startedAfter }) };
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

type Summary = Record<string, number>;

function summarize(samples: StepSample[], afterLastBackward: number[]): Summary {
  const out: Summary = {};
  for (const k of SPLIT) out[k] = round(mean(samples.map((s) => s.split[k])));
  out.stepMs = round(mean(samples.map((s) => s.stepMs)));
  out.stepMsMedian = round(median(samples.map((s) => s.stepMs)));
  out.wallMs = round(mean(samples.map((s) => s.wallMs)));
  out.wallMsMedian = round(median(samples.map((s) => s.wallMs)));
  out.afterLastBackwardMs = round(mean(afterLastBackward));
  out.afterLastBackwardMsMedian = round(median(afterLastBackward));
  return out;
}

const base = { bench: 'overlap', model, dataset, globalBatch, steps, warmup, reps, syncBn: true };
for (const procs of procsList) {
  const pooled = new Map<number, { samples: StepSample[]; after: number[]; perRep: Summary[]; startedAfter?: number[] }>();
  for (let rep = 0; rep < reps; rep++) {
    for (const bucketBytes of bucketList) {
      const run = await job(procs, bucketBytes);
      const entry = pooled.get(bucketBytes) ?? { samples: [], after: [], perRep: [] };
      entry.samples.push(...run.samples);
      entry.after.push(...run.afterLastBackward);
      const summary = summarize(run.samples, run.afterLastBackward);
      entry.perRep.push(summary);
      if (run.startedAfter !== undefined) entry.startedAfter = run.startedAfter;
      pooled.set(bucketBytes, entry);
      emit({ ...base, procs, bucketBytes, rep, ...summary });
    }
  }
  const summaries = new Map([...pooled].map(([b, e]) => [b, summarize(e.samples, e.after)]));
  for (const [bucketBytes, e] of pooled) {
    const mode = bucketBytes === 0 ? 'blocking' : 'overlapped';
    const started = e.startedAfter === undefined ? {} : { bucketsStartedAfterGradients: e.startedAfter };
    emit({ ...base, procs, bucketBytes, mode, pooled: true, ...summaries.get(bucketBytes), ...started });
  }
  const blocking = summaries.get(0);
  if (blocking === undefined) continue;
  for (const [bucketBytes, s] of summaries) {
    if (bucketBytes === 0) continue;
    const ratio = (k: string): number => round((s[k] as number) / (blocking[k] as number), 3);
    emit({
      ...base, procs, bucketBytes, summary: 'overlapped / blocking',
      wallMs: ratio('wallMs'), wallMsMedian: ratio('wallMsMedian'), stepMs: ratio('stepMs'), stepMsMedian: ratio('stepMsMedian'),
      allReduceMs: ratio('allReduceMs'), afterLastBackwardMs: ratio('afterLastBackwardMs'), computeMs: ratio('computeMs'), syncBnMs: ratio('syncBnMs'),
    });
  }
}
