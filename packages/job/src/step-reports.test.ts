import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleDigest, type RankStepDone } from '@tfjs-ddp/protocol';
import { StepReports } from './step-reports.js';

const batch = Int32Array.of(10, 11, 12, 13, 14, 15);
const shards = [batch.subarray(0, 2), batch.subarray(2, 5), batch.subarray(5)];

function report(rank: number, overrides: Partial<RankStepDone> = {}): RankStepDone {
  const shard = shards[rank] as Int32Array;
  const timings = { computeMs: 2, syncBnMs: 1, allReduceMs: 1, applyMs: 0.5, waitMs: 0 };
  return { rank, lossSum: 1, correct: 0, count: shard.length, ...timings, sampleDigest: sampleDigest(shard), ...overrides };
}

/** A book of three ranks with step 4 sent at t = 0 and a clock the test moves. */
function book(): { reports: StepReports; clock: { now: number } } {
  const clock = { now: 0 };
  const reports = new StepReports(3, () => clock.now);
  reports.sent(4, batch, shards);
  clock.now = 100;
  return { reports, clock };
}

test('a step commits when each rank reported it once, with its reports in rank order', () => {
  const { reports } = book();
  reports.accept(4, [report(2), report(0)]);
  assert.equal(reports.complete(4), false);
  reports.accept(4, [report(1)]);
  assert.equal(reports.complete(4), true);
  assert.deepEqual(reports.commit(4).reports.map((r) => r.rank), [0, 1, 2]);
  // Nothing is kept once committed: a late report for it is for a step not in flight.
  assert.throws(() => reports.accept(4, [report(0)]), { code: 'COORD_ERR_BAD_REPORT', message: /step 5, which is not in flight/ });
});

test('duplicate reports are refused and do not count: the step waits for the rank that has not reported', () => {
  const { reports } = book();
  reports.accept(4, [report(0)]);
  assert.throws(() => reports.accept(4, [report(0)]), { code: 'COORD_ERR_BAD_REPORT', message: /rank 0 reported step 5 twice/ });
  assert.throws(() => reports.accept(4, [report(1), report(1)]), { code: 'COORD_ERR_BAD_REPORT', message: /rank 1 reported step 5 twice/ });
  // Two messages for three ranks: refused whole, rank 1 was not kept either.
  assert.throws(() => reports.accept(4, [report(1), report(2), report(0)]), { code: 'COORD_ERR_BAD_REPORT' });
  assert.equal(reports.complete(4), false);
  reports.accept(4, [report(1), report(2)]);
  assert.equal(reports.complete(4), true);
});

test('reports for steps never sent, or for ranks outside the ring, are refused', () => {
  const { reports } = book();
  for (const step of [0, 3, 5, 1_000_000]) assert.throws(() => reports.accept(step, [report(0)]), { code: 'COORD_ERR_BAD_REPORT' }, `step ${step}`);
  assert.throws(() => reports.accept(4, [report(0, { rank: 3 })]), { code: 'COORD_ERR_BAD_REPORT', message: /rank 3 in a ring of 3/ });
});

test('timings that do not fit in the time since the order left are refused', () => {
  const { reports, clock } = book();
  clock.now = 50;
  assert.throws(() => reports.accept(4, [report(0, { computeMs: 60 })]), { code: 'COORD_ERR_BAD_REPORT', message: /rank 0 reports 6\d\.\d+ ms of work/ });
  assert.throws(() => reports.accept(4, [report(0, { computeMs: 20, syncBnMs: 20, allReduceMs: 20 })]), { code: 'COORD_ERR_BAD_REPORT' });
  // Waiting for the order is not work on it.
  reports.accept(4, [report(0, { computeMs: 40, waitMs: 1e6 })]);
});

test('a rank that trained other samples than its shard is named with COORD_ERR_SHARD_MISMATCH', () => {
  const { reports } = book();
  const twice = Int32Array.of(12, 12, 14);
  assert.throws(() => reports.accept(4, [report(1, { sampleDigest: sampleDigest(twice) })]), {
    code: 'COORD_ERR_SHARD_MISMATCH',
    message: /^rank 1 trained other samples than its shard of step 5/,
  });
  assert.throws(() => reports.accept(4, [report(2, { count: 2 })]), { code: 'COORD_ERR_SHARD_MISMATCH', message: /^rank 2 / });
  // Two ranks that swapped shards: the union is the batch, yet each trained what it was not sent.
  assert.throws(() => reports.accept(4, [report(0, { sampleDigest: sampleDigest(shards[2] as Int32Array), count: 1 })]), { code: 'COORD_ERR_SHARD_MISMATCH' });
  assert.equal(reports.complete(4), false);
});

test('a cut whose shards do not make up the global batch fails at commit with COORD_ERR_SHARD_MISMATCH', () => {
  const reports = new StepReports(2, () => 0);
  // Rank 1's shard repeats a sample of rank 0 and loses sample 3: each rank trains what it was sent.
  const cut = [Int32Array.of(1, 2), Int32Array.of(2, 4)];
  reports.sent(0, Int32Array.of(1, 2, 3, 4), cut);
  const timings = { computeMs: 0, syncBnMs: 0, allReduceMs: 0, applyMs: 0, waitMs: 0 };
  reports.accept(0, cut.map((shard, rank) => ({ rank, lossSum: 0, correct: 0, count: shard.length, ...timings, sampleDigest: sampleDigest(shard) })));
  assert.throws(() => reports.commit(0), { code: 'COORD_ERR_SHARD_MISMATCH', message: /global batch has 4 with digest/ });
});
