import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RankStepReport } from '@tfjs-ddp/protocol';
import type { MetricsRecord } from '../metrics-log.js';
import { MAX_RANK_LINES, StepHistory } from './step-history.js';

const T0 = Date.UTC(2026, 0, 1);

function report(rank: number, computeMs: number): RankStepReport {
  return { rank, lossSum: 1, correct: 1, count: 8, computeMs, syncBnMs: 2, allReduceMs: 3, applyMs: 1, waitMs: 0 };
}

function step(n: number, ranks: RankStepReport[], elapsedMs = 100): MetricsRecord {
  return { kind: 'step', time: new Date(T0 + n * elapsedMs).toISOString(), step: n, epoch: 0, loss: 1 / n, accuracy: 0.5, samples: n * 8 * ranks.length, samplesPerSec: 42, stepMs: 10, ranks };
}

test('throughput per step is the step samples over the time since the previous step; the first uses the run average', () => {
  const history = new StepHistory();
  history.add(step(1, [report(0, 10), report(1, 10)]));
  history.add(step(2, [report(0, 10), report(1, 10)]));
  const { steps } = history.view(100);
  assert.deepEqual(steps.throughput, [42, 160]); // 16 samples in 100 ms
  assert.deepEqual(steps.stepMs, [10, 10]);
  assert.deepEqual(steps.computeMs, [10, 10]);
});

test('a rank that joins late has no values before it (null), one line per rank', () => {
  const history = new StepHistory();
  history.add(step(1, [report(0, 10)]));
  history.add(step(2, [report(0, 10), report(1, 20)]));
  history.add({ kind: 'epoch', time: new Date(T0).toISOString(), epoch: 0, testAccuracy: 0.9, testLoss: 0.3 });
  const { steps, epochs } = history.view(100);
  assert.deepEqual(steps.ranks, [
    { label: 'rank 0', ms: [16, 16] },
    { label: 'rank 1', ms: [null, 26] },
  ]);
  assert.deepEqual(epochs, { count: 1, epoch: [1], testAccuracy: [0.9], testLoss: [0.3] });
  assert.equal(history.version, 3);
});

test(`beyond ${MAX_RANK_LINES} ranks the page gets the fastest, median and slowest rank instead of one line each`, () => {
  const history = new StepHistory();
  const ranks = Array.from({ length: MAX_RANK_LINES + 1 }, (_, r) => report(r, 10 + r));
  history.add(step(1, ranks));
  const { steps } = history.view(100);
  assert.deepEqual(
    steps.ranks.map((r) => [r.label, r.ms[0]]),
    [
      ['fastest rank', 16],
      ['median rank', 24],
      ['slowest rank', 32],
    ],
  );
});
