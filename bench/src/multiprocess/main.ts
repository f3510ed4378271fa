import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Coordinator } from '@tfjs-ddp/coordinator';
import type { BalanceMode } from '@tfjs-ddp/job';
import type { DataSource, JobConfig, RankStepReport } from '@tfjs-ddp/protocol';
import { runLocalJob, type LocalJobHooks } from '@tfjs-ddp/worker';
import { emit, parseFlags } from '../common/args.js';
import { SteadyRate } from '../common/steady-rate.js';

/**
 * bench/multiprocess: samples/s of 1 thread, 1 process x 2 threads and 2 processes x 1
 * thread at the same global batch with SyncBN on, each against 2 independent replicas
 * training at once with no communication (parallel efficiency); the step split into
 * compute / all-reduce / SyncBN / waiting for shards; 2 processes with the data read
 * locally vs streamed by the coordinator; and --balance speed vs even when one worker
 * shares its core with a busy process (taskset pins it and a CPU burner to one core).
 *
 *   node bench/dist/multiprocess/main.js [--model cnn-bn] [--global-batch 64] [--steps 40] [--warmup 5]
 */
const flags = parseFlags(process.argv.slice(2));
const model = flags.get('model') ?? 'cnn-bn';
const globalBatch = Number(flags.get('global-batch') ?? 64);
const steps = Number(flags.get('steps') ?? 40);
const warmup = Number(flags.get('warmup') ?? 5);
const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../../apps/cli/dist/main.js');
const config: JobConfig = { model, dataset: 'mnist', epochs: 100, globalBatch, optimizer: { name: 'sgd', learningRate: 0.01 }, seed: 1, maxSteps: steps };

interface Split {
  computeMs: number;
  allReduceMs: number;
  syncBnMs: number;
  shardWaitMs: number;
}

class SplitAverage {
  private readonly sum: Split = { computeMs: 0, allReduceMs: 0, syncBnMs: 0, shardWaitMs: 0 };
  private steps = 0;

  record(step: number, reports: readonly RankStepReport[]): void {
    if (step <= warmup) return;
    this.steps++;
    for (const r of reports) {
      this.sum.computeMs += (r.computeMs + r.applyMs) / reports.length;
      this.sum.allReduceMs += r.allReduceMs / reports.length;
      this.sum.syncBnMs += r.syncBnMs / reports.length;
      this.sum.shardWaitMs += r.waitMs / reports.length;
    }
  }

  mean(): Split {
    const n = Math.max(1, this.steps);
    const s = this.sum;
    return { computeMs: round(s.computeMs / n), allReduceMs: round(s.allReduceMs / n), syncBnMs: round(s.syncBnMs / n), shardWaitMs: round(s.shardWaitMs / n) };
  }
}

async function independent(replicas: number): Promise<number> {
  const script = path.resolve(here, '../scaling/independent-thread.js');
  const runs = Array.from({ length: replicas }, () =>
    new Promise<{ samples: number; seconds: number }>((resolve, reject) => {
      const worker = new Worker(script, { workerData: { config: { ...config, globalBatch: globalBatch / replicas }, warmup } });
      worker.once('message', resolve);
      worker.once('error', reject);
    }),
  );
  return (await Promise.all(runs)).reduce((sum, r) => sum + r.samples / r.seconds, 0);
}

async function threads(count: number): Promise<{ samplesPerSec: number; split: Split }> {
  const rate = new SteadyRate(warmup);
  const split = new SplitAverage();
  const onStep: NonNullable<LocalJobHooks['onStep']> = (p, reports) => {
    rate.record(p);
    split.record(p.step, reports);
  };
  await runLocalJob({ config, threads: count, bnMode: 'sync', backend: 'wasm', hooks: { onStep } });
  return { samplesPerSec: rate.samplesPerSec(), split: split.mean() };
}

interface ProcessesOptions {
  dataSource?: DataSource;
  balance?: BalanceMode;
  slowLast?: boolean;
}

async function processes(count: number, options: ProcessesOptions = {}): Promise<{ samplesPerSec: number; split: Split; shards: number[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-multiprocess-'));
  const token = path.join(dir, 'token');
  writeFileSync(token, 'bench\n');
  const { dataSource, balance } = options;
  const coordinator = await Coordinator.start({ port: 0, host: '127.0.0.1', token: 'bench', workers: count, config, outDir: dir, dataSource, balance });
  const rate = new SteadyRate(warmup);
  const split = new SplitAverage();
  let lastShards: number[] = [];
  coordinator.onRecord((record) => {
    if (record.kind !== 'step') return;
    lastShards = record.ranks.map((r) => r.count);
    rate.record(record);
    split.record(record.step, record.ranks);
  });
  const children: ChildProcess[] = [];
  // One core each; the last worker shares its core with a burner when asked.
  for (let i = 0; i < count; i++) {
    const worker = ['worker', '--coordinator', `ws://127.0.0.1:${coordinator.port}`, '--token-file', token, '--threads', '1', '--advertise-host', '127.0.0.1'];
    const args = ['-c', String(i % 2), process.execPath, cli, ...worker, '--backend', 'wasm', '--log-level', 'warn', '--model', model];
    children.push(spawn('taskset', args, { stdio: 'ignore' }));
  }
  const burner = options.slowLast ? spawn('taskset', ['-c', String((count - 1) % 2), process.execPath, '-e', 'for(;;){}'], { stdio: 'ignore' }) : undefined;
  try {
    await coordinator.run();
  } finally {
    burner?.kill('SIGKILL');
    for (const c of children) c.kill('SIGKILL');
  }
  return { samplesPerSec: rate.samplesPerSec(), split: split.mean(), shards: lastShards };
}

const base = { bench: 'multiprocess', model, globalBatch, steps, warmup, syncBn: true };
const oneThread = await threads(1);
emit({ ...base, layout: '1 thread', samplesPerSec: round(oneThread.samplesPerSec), ...oneThread.split });
const baseline2 = await independent(2);
emit({ ...base, layout: '2 independent replicas (baseline)', samplesPerSec: round(baseline2) });
const twoThreads = await threads(2);
/** Samples per second, and as a share of two independent replicas' and as a multiple of one thread's. */
function speed(samplesPerSec: number): { samplesPerSec: number; efficiency: number; speedupOver1Thread: number } {
  const efficiency = round(samplesPerSec / baseline2, 3);
  return { samplesPerSec: round(samplesPerSec), efficiency, speedupOver1Thread: round(samplesPerSec / oneThread.samplesPerSec, 3) };
}
emit({ ...base, layout: '1 process x 2 threads', ...speed(twoThreads.samplesPerSec), ...twoThreads.split });
for (const dataSource of ['local', 'coordinator'] as const) {
  const two = await processes(2, { dataSource });
  emit({ ...base, layout: '2 processes x 1 thread', dataSource, ...speed(two.samplesPerSec), ...two.split });
}
for (const balance of ['even', 'speed'] as const) {
  const slowed = await processes(2, { balance, slowLast: true });
  const layout = '2 processes x 1 thread, worker 2 sharing its core with a busy process';
  emit({ ...base, layout, balance, samplesPerSec: round(slowed.samplesPerSec), lastStepShards: slowed.shards, ...slowed.split });
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
