import assert from 'node:assert/strict';
import { test } from 'node:test';
import { budgetSettings } from './budget.js';
import type { RunResult } from './results.js';
import { baseArm, runKey, type RunRequest } from './run-config.js';
import { loadStudyData, shareStudyData } from './study-data.js';
import { runOnWorkers } from './worker-pool.js';

const settings = budgetSettings('tiny');
const init = { shared: shareStudyData(loadStudyData(settings)), settings };

/** A one-step run of the study's model; bnBatch 0 makes trainRun throw STUDY_ERR_BAD_OPTION inside the worker. */
function request(seed: number, bnBatch = settings.globalBatch): RunRequest {
  const config = { ...baseArm(settings.globalBatch), bnBatch, seed };
  return { key: runKey(config), config, extras: { curve: false, testTimeStatistics: false } };
}

test('a run that fails in a worker rejects the pool with its code; options are checked', async () => {
  await assert.rejects(runOnWorkers([request(1, 0)], { workers: 1, init }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'STUDY_ERR_RUN_FAILED');
    assert.match(error.message, /^1 of 1 runs failed/);
    assert.match(error.message, /\(STUDY_ERR_BAD_OPTION\)/);
    return true;
  });
  await assert.rejects(runOnWorkers([request(1)], { workers: 0, init }), { code: 'STUDY_ERR_BAD_OPTION' });
  await assert.rejects(runOnWorkers([request(1)], { workers: 1, init, runDeadlineSec: 0 }), { code: 'STUDY_ERR_BAD_OPTION' });
  assert.deepEqual(await runOnWorkers([], { workers: 2, init }), []);
});

test('a failing run does not stop the others: each result still arrives, then the error names the failed run', async () => {
  const bad = request(1, 0);
  const good = [request(2), request(3)];
  const seen: RunResult[] = [];
  await assert.rejects(runOnWorkers([bad, ...good], { workers: 2, init, onResult: (r) => seen.push(r) }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'STUDY_ERR_RUN_FAILED');
    assert.match(error.message, /^1 of 3 runs failed \(the others ran to the end\)/);
    assert.ok(error.message.includes(`run ${bad.key}: (STUDY_ERR_BAD_OPTION)`), error.message);
    return true;
  });
  assert.deepEqual(seen.map((r) => r.key).sort(), good.map((r) => r.key).sort());
});

test('results come back in request order; a run past its deadline is stopped and named', async () => {
  const requests = [request(3), request(1), request(2)];
  const results = await runOnWorkers(requests, { workers: 2, init, runDeadlineSec: 300 });
  assert.deepEqual(results.map((r) => r.key), requests.map((r) => r.key));
  assert.ok(results.every((r) => r.stepsCompleted === r.steps));
  // A thread's start alone (wasm, the data) takes longer than 1 ms, so this run cannot make its deadline.
  await assert.rejects(runOnWorkers([request(1)], { workers: 1, init, runDeadlineSec: 0.001 }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'STUDY_ERR_RUN_FAILED');
    assert.match(error.message, /: passed its deadline of 0\.001 s and was stopped$/);
    return true;
  });
});
