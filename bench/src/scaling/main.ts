import { Worker } from 'node:worker_threads';
import type { TrainConfig } from '@tfjs-ddp/trainer';
import { runLocalJob } from '@tfjs-ddp/worker';

interface StepTimings {
  computeMs: number;
  syncBnMs: number;
  allReduceMs: number;
  applyMs: number;
  waitMs: number;
}
import { emit, intList, parseFlags } from '../common/args.js';
import { BenchError } from '../common/errors.js';

/**
 * bench/scaling: samples/s of N rank threads training one model (SyncBN on and off) at
 * a fixed global batch, reported two ways, each named for what it divides by:
 *  - ratioToIndependentReplicas: over N independent replicas training at once with no
 *    communication (each on global/N samples per step), measured in the same run. It
 *    isolates what communication and synchronization cost; it is not a speedup (on 2
 *    vCPUs sharing their vector units, N replicas are themselves far from N times one).
 *  - speedupOverOneThread: over one rank thread training the same global batch, i.e.
 *    what adding threads gains a user (1 thread is always measured, even if not asked for).
 * Also the time of a step split into compute, gradient all-reduce and SyncBN waits.
 *
 *   node bench/dist/scaling/main.js [--threads 1,2] [--model cnn-bn] [--global-batch 64]
 *                                   [--steps 40] [--warmup 5]
 */
const flags = parseFlags(process.argv.slice(2));
const threadCounts = intList(flags.get('threads') ?? '1,2');
const model = flags.get('model') ?? 'cnn-bn';
const globalBatch = Number(flags.get('global-batch') ?? 64);
const steps = Number(flags.get('steps') ?? 40);
const warmup = Number(flags.get('warmup') ?? 5);

function config(batch: number): TrainConfig {
  return { model, dataset: 'mnist', epochs: 100, globalBatch: batch, optimizer: { name: 'sgd', learningRate: 0.01 }, seed: 1, maxSteps: steps };
}

async function independent(threads: number): Promise<number> {
  const runs = Array.from({ length: threads }, () =>
    new Promise<{ samples: number; seconds: number }>((resolve, reject) => {
      const worker = new Worker(new URL('./independent-thread.js', import.meta.url), { workerData: { config: config(globalBatch / threads), warmup } });
      worker.once('message', resolve);
      worker.once('error', reject);
    }),
  );
  const results = await Promise.all(runs);
  return results.reduce((sum, r) => sum + r.samples / r.seconds, 0);
}

async function ddp(threads: number, bnMode: string): Promise<{ samplesPerSec: number; timings: StepTimings }> {
  let measuredFrom = 0;
  let samples = 0;
  const totals: StepTimings = { computeMs: 0, syncBnMs: 0, allReduceMs: 0, applyMs: 0, waitMs: 0 };
  const result = await runLocalJob({
    config: config(globalBatch),
    threads,
    bnMode,
    backend: 'wasm',
    hooks: {
      onStep: (p, reports) => {
        if (p.step === warmup) measuredFrom = performance.now();
        if (p.step <= warmup) return;
        samples += globalBatch;
        for (const t of reports) for (const key of Object.keys(totals) as (keyof StepTimings)[]) totals[key] += t[key] / reports.length;
      },
    },
  });
  void result;
  const measured = steps - warmup;
  const timings = Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, v / measured])) as unknown as StepTimings;
  return { samplesPerSec: samples / ((performance.now() - measuredFrom) / 1000), timings };
}

/** samples/s of one rank thread, per BN mode: the denominator of speedupOverOneThread. */
const oneThread = new Map<string, number>();
for (const threads of [...new Set([1, ...threadCounts])].sort((a, b) => a - b)) {
  if (globalBatch % threads !== 0) throw new BenchError('BENCH_ERR_USAGE', `--global-batch ${globalBatch} is not divisible by ${threads} threads`);
  const baseline = await independent(threads);
  for (const bnMode of ['sync', 'local']) {
    const run = await ddp(threads, bnMode);
    if (threads === 1) oneThread.set(bnMode, run.samplesPerSec);
    const t = run.timings;
    const stepMs = t.computeMs + t.syncBnMs + t.allReduceMs + t.applyMs + t.waitMs;
    emit({
      bench: 'scaling',
      model,
      threads,
      globalBatch,
      syncBn: bnMode === 'sync',
      samplesPerSec: round(run.samplesPerSec),
      independentSamplesPerSec: round(baseline),
      oneThreadSamplesPerSec: round(oneThread.get(bnMode) ?? NaN),
      ratioToIndependentReplicas: round(run.samplesPerSec / baseline, 3),
      speedupOverOneThread: round(run.samplesPerSec / (oneThread.get(bnMode) ?? NaN), 3),
      stepMs: round(stepMs),
      computeMs: round(t.computeMs),
      applyMs: round(t.applyMs),
      allReduceMs: round(t.allReduceMs),
      syncBnMs: round(t.syncBnMs),
      waitMs: round(t.waitMs),
      overheadFraction: round((t.allReduceMs + t.syncBnMs + t.waitMs) / stepMs, 3),
    });
  }
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
