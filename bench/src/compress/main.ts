import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Coordinator } from '@tfjs-ddp/coordinator';
import type { Compression, JobConfig } from '@tfjs-ddp/protocol';
import { DEFAULT_TRAIN_CONFIG } from '@tfjs-ddp/trainer/train-config';
import { emit, parseFlags } from '../common/args.js';

/**
 * bench/compress: what `--compress bf16` costs in accuracy and saves on the wire. The same
 * job (2 worker processes x 1 thread on loopback, wasm) runs with exact float32 gradients
 * and with bf16 over several seeds; prints a JSON line per run (final test accuracy and
 * loss; bytes each worker wrote per step, measured from /proc/<pid>/io between the end of
 * the warm-up and the last step, so the state broadcast at the start and the model at the
 * end are left out; it includes the worker's small step reports to the coordinator) and
 * one summary line per format (accuracy mean, spread, bytes per step).
 *
 *   node bench/dist/compress/main.js [--model mlp] [--dataset mnist] [--steps 300] [--global-batch 64] [--seeds 3] [--formats none,bf16]
 */
const flags = parseFlags(process.argv.slice(2));
const model = flags.get('model') ?? 'mlp';
const dataset = flags.get('dataset') ?? 'mnist';
const steps = Number(flags.get('steps') ?? 300);
const globalBatch = Number(flags.get('global-batch') ?? 64);
const seeds = Number(flags.get('seeds') ?? 3);
const formats = (flags.get('formats') ?? 'none,bf16').split(',') as Compression[];
const warmup = 10;
const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../../apps/cli/dist/main.js');

/** Bytes a process has passed to write(2) and friends (sockets included). */
function bytesWritten(pid: number | undefined): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return Number(/wchar:\s*(\d+)/.exec(io)?.[1] ?? NaN);
}

interface RunResult {
  accuracy: number;
  loss: number;
  bytesPerStepPerWorker: number;
  seconds: number;
}

async function run(compress: Compression, seed: number): Promise<RunResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-compress-'));
  const token = path.join(dir, 'token');
  writeFileSync(token, 'bench\n');
  const config: JobConfig = { model, dataset, epochs: 100, globalBatch, optimizer: DEFAULT_TRAIN_CONFIG.optimizer, seed, maxSteps: steps };
  const coordinator = await Coordinator.start({ port: 0, host: '127.0.0.1', token: 'bench', workers: 2, config, outDir: dir, compress });
  const children: ChildProcess[] = [0, 1].map(() => {
    const worker = ['worker', '--coordinator', `ws://127.0.0.1:${coordinator.port}`, '--token-file', token, '--threads', '1'];
    const local = ['--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--backend', 'wasm', '--log-level', 'warn'];
    return spawn(process.execPath, [cli, ...worker, ...local], { stdio: 'ignore' });
  });
  let first: { step: number; bytes: number[] } | undefined;
  let last: { step: number; bytes: number[] } | undefined;
  coordinator.onRecord((record) => {
    if (record.kind !== 'step' || record.step < warmup) return;
    const mark = { step: record.step, bytes: children.map((c) => bytesWritten(c.pid)) };
    first ??= mark;
    last = mark;
  });
  const started = performance.now();
  try {
    const result = await coordinator.run();
    const [a, b] = [first, last];
    const perStep = a && b && b.step > a.step ? b.bytes.reduce((s, x, i) => s + x - (a.bytes[i] ?? 0), 0) / children.length / (b.step - a.step) : NaN;
    const seconds = (performance.now() - started) / 1000;
    return { accuracy: result.test.accuracy, loss: result.test.loss, bytesPerStepPerWorker: Math.round(perStep), seconds };
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}

const base = { bench: 'compress', model, dataset, steps, globalBatch, layout: '2 processes x 1 thread' };
const summary = new Map<Compression, RunResult[]>();
for (let seed = 1; seed <= seeds; seed++) {
  for (const compress of formats) {
    const r = await run(compress, seed);
    summary.set(compress, [...(summary.get(compress) ?? []), r]);
    const measured = { accuracy: r.accuracy, testLoss: round(r.loss, 4), bytesPerStepPerWorker: r.bytesPerStepPerWorker, seconds: round(r.seconds, 1) };
    emit({ ...base, compress, seed, ...measured });
  }
}
for (const [compress, runs] of summary) {
  const acc = runs.map((r) => r.accuracy);
  const mean = acc.reduce((s, a) => s + a, 0) / acc.length;
  const sd = Math.sqrt(acc.reduce((s, a) => s + (a - mean) ** 2, 0) / Math.max(1, acc.length - 1));
  const bytes = runs.reduce((s, r) => s + r.bytesPerStepPerWorker, 0) / runs.length;
  const accuracy = { accuracyMean: round(mean, 4), accuracySd: round(sd, 4), accuracyMin: Math.min(...acc), accuracyMax: Math.max(...acc) };
  emit({ ...base, compress, seeds: runs.length, ...accuracy, bytesPerStepPerWorker: Math.round(bytes) });
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
