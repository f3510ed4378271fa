import assert from 'node:assert/strict';
import { test } from 'node:test';
import { budgetSettings } from './budget.js';
import { baseArm, runKey } from './run-config.js';
import { loadStudyData, shareStudyData } from './study-data.js';
import { runOnWorkers } from './worker-pool.js';

const settings = budgetSettings('tiny');

test('a run that fails in a worker rejects the pool with its code; workers are checked', async () => {
  const init = { shared: shareStudyData(loadStudyData(settings)), settings };
  const config = { ...baseArm(settings.globalBatch), bnBatch: 0, seed: 1 };
  const request = { key: runKey(config), config, extras: { curve: false, testTimeStatistics: false } };
  await assert.rejects(runOnWorkers([request], { workers: 1, init }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'STUDY_ERR_RUN_FAILED');
    assert.match(error.message, /STUDY_ERR_BAD_OPTION/);
    return true;
  });
  await assert.rejects(runOnWorkers([request], { workers: 0, init }), { code: 'STUDY_ERR_BAD_OPTION' });
  assert.deepEqual(await runOnWorkers([], { workers: 2, init }), []);
});
