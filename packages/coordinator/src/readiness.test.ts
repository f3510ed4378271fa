import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProgressWatch, judgeReadiness, type ReadinessLimits } from './readiness.js';

const LIMITS: ReadinessLimits = { waitTimeoutMs: 60_000, readyTimeoutMs: 30_000, rejoinTimeoutMs: 20_000, stepTimeoutMs: 10_000 };

test('readiness: ready while waiting within the wait timeout, not after it', () => {
  assert.equal(judgeReadiness({ state: 'waiting', stateSinceMs: 0, lastProgressMs: null, limits: LIMITS }, 59_000).ready, true);
  const late = judgeReadiness({ state: 'waiting', stateSinceMs: 0, lastProgressMs: null, limits: LIMITS }, 61_000);
  assert.equal(late.ready, false);
  assert.match(late.reason, /waiting for 61 s, past its 60 s deadline/);
});

test('readiness: a training job that has not stepped within its step deadline is not ready; a new step makes it ready again', () => {
  const watch = new ProgressWatch(LIMITS);
  watch.note('training', 0, 1000);
  assert.equal(watch.judge('training', 0, 5000).ready, true);
  watch.note('training', 1, 6000);
  assert.equal(watch.judge('training', 1, 15_000).ready, true);
  const stalled = watch.judge('training', 1, 17_000);
  assert.equal(stalled.ready, false);
  assert.match(stalled.reason, /no step for 11 s/);
  assert.equal(watch.judge('training', 2, 18_000).ready, true);
});

test('readiness: starting and recovering have their own deadlines; failed is never ready, finished is', () => {
  const watch = new ProgressWatch(LIMITS);
  assert.equal(watch.judge('starting', 0, 0).ready, true);
  assert.equal(watch.judge('starting', 0, 31_000).ready, false);
  assert.equal(watch.judge('recovering', 0, 40_000).ready, true);
  assert.equal(watch.judge('recovering', 0, 61_000).ready, false);
  assert.equal(watch.judge('failed', 0, 61_001).ready, false);
  assert.equal(watch.judge('finished', 0, 61_002).ready, true);
});
