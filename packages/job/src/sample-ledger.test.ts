import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StepSchedule } from './step-schedule.js';
import { sampleDigest } from '@tfjs-ddp/protocol';
import { SampleLedger } from './sample-ledger.js';

// 12 samples, batches of 4: three steps an epoch, two epochs.
const schedule = new StepSchedule({ size: 12, globalBatch: 4, seed: 7, epochs: 2 });

function cut(step: number): Int32Array[] {
  const { indices } = schedule.at(step);
  return [indices.subarray(0, 1), indices.subarray(1, 4)];
}

function honest(shards: Int32Array[]): { rank: number; count: number; sampleDigest: number }[] {
  return shards.map((shard, rank) => ({ rank, count: shard.length, sampleDigest: sampleDigest(shard) }));
}

test('an epoch whose steps every rank reported as sent: every sample exactly once', () => {
  const ledger = new SampleLedger(schedule, 12);
  for (let step = 0; step < 3; step++) ledger.commit(step, honest(cut(step)), cut(step));
  assert.deepEqual(ledger.accounts(), [{ epoch: 0, once: 12, missing: 0, repeated: 0, complete: true }]);
});

test('the ledger counts what the ranks reported, not the schedule: a rank that trained other samples leaves its shard missing', () => {
  const ledger = new SampleLedger(schedule, 12);
  ledger.commit(0, honest(cut(0)), cut(0));
  const shards = cut(1);
  const reports = honest(shards);
  // Rank 1 reports its first sample twice in place of its second.
  const wrong = Int32Array.from(shards[1] as Int32Array);
  wrong[1] = wrong[0] as number;
  reports[1] = { rank: 1, count: 3, sampleDigest: sampleDigest(wrong) };
  ledger.commit(1, reports, shards);
  // And no rank reports step 2's first shard at all.
  ledger.commit(2, honest(cut(2)).slice(1), cut(2));
  assert.deepEqual(ledger.accounts(), [{ epoch: 0, once: 8, missing: 4, repeated: 0, complete: true }]);
});

test('a step committed twice shows its samples repeated; a resume counts the checkpoint\'s steps once', () => {
  const ledger = new SampleLedger(schedule, 12);
  ledger.commitUpTo(4);
  ledger.commit(3, honest(cut(3)), cut(3));
  const [first, second] = ledger.accounts();
  assert.deepEqual(first, { epoch: 0, once: 12, missing: 0, repeated: 0, complete: true });
  assert.deepEqual(second, { epoch: 1, once: 0, missing: 0, repeated: 4, complete: false });
});
