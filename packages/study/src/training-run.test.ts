import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '@tfjs-ddp/backend';
import { budgetSettings } from './budget.js';
import { COLLAPSE_STEPS } from './outcome.js';
import { baseArm, runKey, type RunConfig } from './run-config.js';
import { loadStudyData, type StudyData } from './study-data.js';
import { trainRun } from './training-run.js';

// Real training runs of the study's model on MNIST: 768 samples, 12 steps (more than COLLAPSE_STEPS), under a second each.
const settings = { ...budgetSettings('tiny'), trainSamples: 768, testSamples: 200 };
let data: StudyData;

before(async () => {
  await initBackend('wasm');
  data = loadStudyData(settings);
});

async function run(config: RunConfig): ReturnType<typeof trainRun> {
  return await trainRun({ key: runKey(config), config, extras: { curve: false, testTimeStatistics: false } }, data, settings);
}

test('SGD at learning rate 10 with BN saturates: collapsed by its loss, one class predicted, not counted as diverged', async () => {
  const r = await run({ ...baseArm(64), optimizer: { name: 'sgd', learningRate: 10 }, seed: 1 });
  assert.ok(r.steps > COLLAPSE_STEPS, `${r.steps} steps`);
  assert.equal(r.diverged, false);
  assert.equal(r.outcome, 'collapsed');
  assert.match(r.outcomeReason ?? '', /in each of the last 10 steps/);
  assert.equal(r.lastStepLosses?.length, COLLAPSE_STEPS);
  assert.equal(r.predictedClassCounts?.filter((n) => n > 0).length, 1, 'every test sample predicted as one class');
  assert.equal(r.predictedClassCounts?.reduce((a, b) => a + b, 0), 200);
});

test('SGD at learning rate 1 without BN collapses to one class at a loss near ln(10): caught by the predicted classes', async () => {
  const r = await run({ ...baseArm(64), bnPlacement: 'none', optimizer: { name: 'sgd', learningRate: 1 }, seed: 1 });
  assert.equal(r.outcome, 'collapsed');
  assert.match(r.outcomeReason ?? '', /^class \d predicted for all 200 test samples$/);
});

test('Adam 0.001 trains: outcome trained, no reason, several classes predicted', async () => {
  const r = await run({ ...baseArm(64), bnPlacement: 'none', seed: 2 });
  assert.equal(r.outcome, 'trained');
  assert.equal(r.outcomeReason, '');
  assert.ok(r.test.accuracy > 0.3, `accuracy ${r.test.accuracy}`);
  assert.ok((r.predictedClassCounts?.filter((n) => n > 0).length ?? 0) >= 5);
});
