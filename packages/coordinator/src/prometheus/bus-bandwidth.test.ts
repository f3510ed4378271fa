import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RankStepReport } from '@tfjs-ddp/protocol';
import { allReduceRates, allReduceSeconds, gradientBytes } from './bus-bandwidth.js';

function report(rank: number, allReduceMs: number): RankStepReport {
  return { rank, lossSum: 0, correct: 0, count: 1, computeMs: 1, syncBnMs: 0, allReduceMs, applyMs: 0, waitMs: 0 };
}

test('busbw follows nccl-tests: algbw = bytes / time, busbw = algbw * 2(P-1)/P', () => {
  // 100 MB in 0.5 s over 4 ranks: algbw 200 MB/s, busbw 200 * 6/4 = 300 MB/s.
  const rates = allReduceRates(100e6, 0.5, 4);
  assert.ok(rates !== undefined);
  assert.equal(rates.algbw, 200e6);
  assert.equal(rates.busbw, 300e6);
  // Two ranks: the factor is exactly 1.
  assert.equal(allReduceRates(8, 2, 2)?.busbw, 4);
});

test('no rate for one rank, a zero time or an empty gradient', () => {
  assert.equal(allReduceRates(100, 1, 1), undefined);
  assert.equal(allReduceRates(100, 0, 4), undefined);
  assert.equal(allReduceRates(0, 1, 4), undefined);
});

test('the all-reduce time is the last-arriving (fastest) rank, and the gradient is float32', () => {
  assert.equal(allReduceSeconds([report(0, 40), report(1, 12), report(2, 25)]), 0.012);
  assert.equal(allReduceSeconds([]), 0);
  assert.equal(gradientBytes(1000), 4000);
});
