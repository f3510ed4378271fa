import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Coordinator } from '@tfjs-ddp/coordinator';
import type { BalanceMode } from '@tfjs-ddp/job';
import type { DataSource, JobConfig } from '@tfjs-ddp/protocol';
import { compareWithReference, referenceRun, stepLosses, withinTolerance } from './harness/reference.js';
import { savedWeights, startCli, type RunningProcess } from './harness/processes.js';

/**
 * A coordinator (in this process) and real worker processes on loopback train the same
 * model as ONE replica with plain BN on the whole batch: every step's loss and every
 * final weight within 1e-5 * (1 + |reference|) (relative for large values, absolute for
 * small). Plain SGD as well as Adam: Adam divides by the gradient's own scale, so a
 * wrong divisor or a double count across processes would pass with Adam alone.
 */
const TOLERANCE = 1e-5;
const OPTIMIZERS = ['sgd', 'adam'] as const;
const dir = mkdtempSync(path.join(tmpdir(), 'multiprocess-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'test-token\n');
const running: RunningProcess[] = [];
after(() => running.forEach((p) => p.kill()));

type Run = { weights: Float32Array; losses: number[] };

async function runJob(name: string, config: JobConfig, workerThreads: number[], options: { dataSource?: DataSource; balance?: BalanceMode } = {}): Promise<Run> {
  const out = path.join(dir, name);
  const coordinator = await Coordinator.start({ port: 0, host: '127.0.0.1', token: 'test-token', workers: workerThreads.length, config, outDir: out, checkReplicasEvery: 1, dataSource: options.dataSource, balance: options.balance, waitTimeoutMs: 60_000 });
  const workers = workerThreads.map((threads) => {
    const worker = startCli(['worker', '--coordinator', `ws://127.0.0.1:${coordinator.port}`, '--token-file', tokenFile, '--threads', String(threads), '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--backend', 'wasm']);
    running.push(worker);
    return worker;
  });
  try {
    const result = await coordinator.run();
    assert.equal(result.steps, config.maxSteps);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- worker output ---\n${workers.map((w) => w.output()).join('\n---\n')}`);
  }
  const codes = await Promise.all(workers.map((w) => w.exited));
  assert.deepEqual(codes, workerThreads.map(() => 0), workers.map((w) => w.output()).join('\n'));
  return { weights: savedWeights(out), losses: stepLosses(out) };
}

function config(optimizer: 'sgd' | 'adam', globalBatch: number, extra: Partial<JobConfig> = {}): JobConfig {
  const learningRate = optimizer === 'sgd' ? 0.05 : 0.003;
  return { model: 'cnn-bn', dataset: 'synthetic', epochs: 1, globalBatch, optimizer: { name: optimizer, learningRate }, seed: 7, maxSteps: 5, ...extra };
}

for (const optimizer of OPTIMIZERS) {
  test(`2 worker processes x 2 threads with SyncBN equal one replica on the whole batch (${optimizer})`, async (t) => {
    const cfg = config(optimizer, 16);
    const diff = compareWithReference(t, `2x2 ${optimizer}`, await runJob(`2x2-${optimizer}`, cfg, [2, 2]), await referenceRun(cfg));
    assert.ok(...withinTolerance(`2x2 ${optimizer}`, diff, TOLERANCE));
  });
}

// The variants below with plain SGD only: it is the optimizer that sees a wrong gradient
// scale, and each job takes half a minute of a busy 2-core machine.
for (const optimizer of ['sgd'] as const) {
  test(`the same when the coordinator streams the samples (--data-source coordinator), with dropout (${optimizer})`, async (t) => {
    // With streamed samples the ranks hold no training set and skip BN recalibration: off on both sides.
    const cfg = config(optimizer, 12, { model: 'cnn-bn-dropout', dropout: 0.3, bnRecalibrate: 'off' });
    const diff = compareWithReference(t, `streamed ${optimizer}`, await runJob(`streamed-${optimizer}`, cfg, [1, 1], { dataSource: 'coordinator' }), await referenceRun(cfg));
    assert.ok(...withinTolerance(`streamed ${optimizer}`, diff, TOLERANCE));
  });

  test(`unequal workers (1 thread and 3 threads) with --balance speed equal one replica on the whole batch (${optimizer})`, async (t) => {
    // Four global ranks numbered process by process (0 | 1,2,3); the speed balancer moves samples
    // between them from step 2 on, which changes who computes what but not the step's mathematics.
    const cfg = config(optimizer, 16, { maxSteps: 6 });
    const diff = compareWithReference(t, `1+3 speed ${optimizer}`, await runJob(`1+3-speed-${optimizer}`, cfg, [1, 3], { balance: 'speed' }), await referenceRun(cfg));
    assert.ok(...withinTolerance(`1+3 speed ${optimizer}`, diff, TOLERANCE));
  });
}
