import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyRun, COLLAPSE_STEPS, counts, outcomeOf, type OutcomeEvidence } from './outcome.js';
import type { RunResult } from './results.js';

const spread = [10, 12, 9, 11, 10, 8, 10, 10, 12, 8];
const evidence = (over: Partial<OutcomeEvidence>): OutcomeEvidence => ({
  nonFiniteLoss: false,
  lastStepLosses: new Array<number>(COLLAPSE_STEPS).fill(0.5),
  predictedClassCounts: spread,
  testLoss: 0.4,
  ...over,
});

test('a non-finite loss is divergence, before any collapse check', () => {
  assert.equal(classifyRun(evidence({ nonFiniteLoss: true, lastStepLosses: [Number.NaN] })).outcome, 'diverged');
  const nanTest = classifyRun(evidence({ testLoss: null }));
  assert.deepEqual(nanTest, { outcome: 'diverged', reason: 'the test loss is NaN or infinite' });
});

test('collapse (a): every one of the last K batch losses above ln(classes), and only with K steps to judge', () => {
  const saturated = classifyRun(evidence({ lastStepLosses: [0.3, ...new Array<number>(COLLAPSE_STEPS).fill(14.5)] }));
  assert.equal(saturated.outcome, 'collapsed');
  assert.match(saturated.reason, /^training loss above ln 10 = 2\.303 in each of the last 10 steps \(lowest 14\.500\)$/);
  // One batch below a uniform guess among the last K: the model learned something.
  const oneGood = [...new Array<number>(COLLAPSE_STEPS - 1).fill(14.5), 2.2];
  assert.equal(classifyRun(evidence({ lastStepLosses: oneGood })).outcome, 'trained');
  // A run shorter than K steps is not judged by its loss.
  assert.equal(classifyRun(evidence({ lastStepLosses: [14.5, 14.5] })).outcome, 'trained');
});

test('collapse (b): one class predicted for every test sample, whatever the loss', () => {
  const oneClass = classifyRun(evidence({ predictedClassCounts: [0, 0, 0, 200, 0, 0, 0, 0, 0, 0], testLoss: 2.3 }));
  assert.deepEqual(oneClass, { outcome: 'collapsed', reason: 'class 3 predicted for all 200 test samples' });
  assert.equal(classifyRun(evidence({ predictedClassCounts: [0, 0, 0, 199, 1, 0, 0, 0, 0, 0] })).outcome, 'trained');
});

test('results from before outcomes were recorded: divergence known, collapse unchecked and counted in the means', () => {
  const old = { diverged: false } as RunResult;
  assert.equal(outcomeOf(old), 'unchecked');
  assert.ok(counts(old));
  assert.equal(outcomeOf({ diverged: true } as RunResult), 'diverged');
  assert.ok(!counts({ diverged: false, outcome: 'collapsed' } as RunResult));
  assert.ok(counts({ diverged: false, outcome: 'trained' } as RunResult));
});
