import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Coordinator, type BalanceMode } from '@tfjs-ddp/coordinator';
import type { DataSource, JobConfig } from '@tfjs-ddp/protocol';
import { maxRelativeDifference, referenceRun } from './harness/reference.js';
import { savedWeights, startCli, type RunningProcess } from './harness/processes.js';

/**
 * A coordinator (in this process) and real worker processes on loopback train the same
 * model as ONE replica with plain BN on the whole batch. Tolerance as in the threads
 * test: every weight within 1e-4 * (1 + |w|).
 */
const TOLERANCE = 1e-4;
const dir = mkdtempSync(path.join(tmpdir(), 'multiprocess-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'test-token\n');
const running: RunningProcess[] = [];
after(() => running.forEach((p) => p.kill()));

async function runJob(name: string, config: JobConfig, workerThreads: number[], options: { dataSource?: DataSource; balance?: BalanceMode } = {}): Promise<Float32Array> {
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
  return savedWeights(out);
}

function config(globalBatch: number, extra: Partial<JobConfig> = {}): JobConfig {
  return { model: 'cnn-bn', dataset: 'synthetic', epochs: 1, globalBatch, optimizer: { name: 'adam', learningRate: 0.003 }, seed: 7, maxSteps: 5, ...extra };
}

test('2 worker processes x 2 threads with SyncBN equal one replica on the whole batch', async () => {
  const cfg = config(16);
  const weights = await runJob('2x2', cfg, [2, 2]);
  const reference = await referenceRun(cfg);
  const diff = maxRelativeDifference(weights, reference.weights);
  assert.ok(diff <= TOLERANCE, `weights differ from the one-replica reference by ${diff}`);
});

test('the same when the coordinator streams the samples (--data-source coordinator), with dropout', async () => {
  const cfg = config(12, { model: 'cnn-bn-dropout', dropout: 0.3 });
  const weights = await runJob('streamed', cfg, [1, 1], { dataSource: 'coordinator' });
  const reference = await referenceRun(cfg);
  const diff = maxRelativeDifference(weights, reference.weights);
  assert.ok(diff <= TOLERANCE, `weights differ from the one-replica reference by ${diff}`);
});

test('unequal workers (1 thread and 3 threads) with --balance speed equal one replica on the whole batch', async () => {
  // Four global ranks numbered process by process (0 | 1,2,3); the speed balancer moves samples
  // between them from step 2 on, which changes who computes what but not the step's mathematics.
  const cfg = config(16, { maxSteps: 6 });
  const weights = await runJob('1+3-speed', cfg, [1, 3], { balance: 'speed' });
  const reference = await referenceRun(cfg);
  const diff = maxRelativeDifference(weights, reference.weights);
  assert.ok(diff <= TOLERANCE, `weights differ from the one-replica reference by ${diff}`);
});
