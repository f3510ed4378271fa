import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RankLayout } from './rank-layout.js';

test('global ranks count from the thread counts of the lower process ranks', () => {
  const l = new RankLayout([2, 1, 3]);
  assert.deepEqual(l.offsets, [0, 2, 3, 6]);
  assert.equal(l.total, 6);
  assert.equal(l.processes, 3);
  assert.equal(l.uniform, false);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((g) => l.processOf(g)), [0, 0, 1, 2, 2, 2]);
  assert.deepEqual([0, 1, 2].map((p) => l.first(p)), [0, 2, 3]);
  assert.equal(RankLayout.uniform(4, 3).uniform, true);
  assert.deepEqual([0, 5, 6, 11].map((g) => RankLayout.uniform(4, 3).processOf(g)), [0, 1, 2, 3]);
});

test('bounds cut a per-rank buffer of a range of processes into one run per process', () => {
  const l = new RankLayout([2, 1, 3]);
  assert.deepEqual(l.bounds(0, 3, 5), [0, 10, 15, 30]);
  assert.deepEqual(l.bounds(1, 3, 5), [0, 5, 20], 'a range counts from its first process');
  assert.deepEqual(l.bounds(0, 2, 0), [0, 0, 0]);
});

test('a failure blamed on a process names its first global rank; nothing else is blamed', () => {
  const l = new RankLayout([2, 1, 3]);
  assert.deepEqual([0, 1, 2].map((p) => l.blame(p)), [0, 2, 3]);
  assert.equal(l.blame(undefined), undefined);
  assert.equal(l.blame(3), undefined);
  assert.equal(l.blame(-1), undefined);
});

test('thread counts must be whole and positive', () => {
  for (const bad of [[], [0], [1, -1], [1.5]]) assert.throws(() => new RankLayout(bad), { code: 'COLL_ERR_ARGUMENT' });
});
