import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '@tfjs-ddp/backend';
import { budgetSettings } from './budget.js';
import { baseArm, runKey, type RunConfig } from './run-config.js';
import type { RunResult } from './results.js';
import { loadStudyData, type StudyData } from './study-data.js';
import { trainThreadedRun } from './threaded-run.js';

const settings = budgetSettings('tiny');
let data: StudyData;

before(async () => {
  await initBackend('wasm');
  data = loadStudyData(settings);
});

function run(threads: number, perReplicaBatch: number, bnMode: string): Promise<RunResult> {
  const config: RunConfig = { ...baseArm(threads * perReplicaBatch), network: 'cnn-dense-bn', maxSteps: 2, ranks: { threads, perReplicaBatch, bnMode }, seed: 1 };
  return trainThreadedRun({ key: runKey(config), config, extras: { curve: false, testTimeStatistics: false } }, data, settings);
}

test('on real rank threads, local BN and SyncBN differ at per-replica batches 1 and 2', async () => {
  for (const b of [1, 2]) {
    const local = await run(2, b, 'local');
    const sync = await run(2, b, 'sync');
    assert.equal(local.steps, 2);
    assert.equal(local.predictedClassCounts?.reduce((a, c) => a + c, 0), data.test.size);
    assert.notEqual(local.test.loss, sync.test.loss, `per-replica batch ${b}: local BN normalizes over ${b}, SyncBN over ${2 * b}`);
    assert.ok(local.trainLoss !== null && sync.trainLoss !== null && local.trainLoss !== sync.trainLoss, `per-replica batch ${b}: training losses`);
  }
});

test('with a single rank, local BN and SyncBN are the same computation', async () => {
  const local = await run(1, 2, 'local');
  const sync = await run(1, 2, 'sync');
  assert.equal(local.test.loss, sync.test.loss);
  assert.equal(local.trainLoss, sync.trainLoss);
  assert.deepEqual(local.predictedClassCounts, sync.predictedClassCounts);
});
