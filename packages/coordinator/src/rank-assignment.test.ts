import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignRanks, worldSize } from './rank-assignment.js';
import { ShardBalancer } from '@tfjs-ddp/job';

test('ranks: workers of one host are adjacent in the ring, global ranks follow the ring order', () => {
  const workers = [
    { id: 'a', host: 'h1', peerPort: 1, threads: 2 },
    { id: 'b', host: 'h2', peerPort: 1, threads: 1 },
    { id: 'c', host: 'h1', peerPort: 2, threads: 3 },
    { id: 'd', host: 'h3', peerPort: 1, threads: 1 },
    { id: 'e', host: 'h2', peerPort: 2, threads: 2 },
  ];
  const assigned = assignRanks(workers);
  assert.deepEqual(assigned.map((w) => w.id), ['a', 'c', 'b', 'e', 'd']);
  assert.deepEqual(assigned.map((w) => w.processRank), [0, 1, 2, 3, 4]);
  assert.deepEqual(assigned.map((w) => w.rankOffset), [0, 2, 5, 6, 8]);
  assert.equal(worldSize(workers), 9);
});

test("ranks: a launcher's rank processes (--procs) take their host's ranks in launch order, whatever order they joined in", () => {
  const workers = [
    { id: 'p1', host: 'h1', peerPort: 1, threads: 1, launchIndex: 1 },
    { id: 'x', host: 'h1', peerPort: 2, threads: 1 },
    { id: 'q0', host: 'h2', peerPort: 1, threads: 1, launchIndex: 0 },
    { id: 'p0', host: 'h1', peerPort: 3, threads: 1, launchIndex: 0 },
  ];
  assert.deepEqual(assignRanks(workers).map((w) => w.id), ['p0', 'p1', 'x', 'q0']);
});

test('speed balancing keeps the global batch and gives fast ranks more samples', () => {
  const even = new ShardBalancer({ mode: 'even', ranks: 3 });
  assert.deepEqual(even.sizes(64), [22, 21, 21]);
  const speed = new ShardBalancer({ mode: 'speed', ranks: 3 });
  assert.deepEqual(speed.sizes(64), [22, 21, 21], 'even until every rank was measured');
  speed.observe(0, 20, 10); // 2 samples/ms
  speed.observe(1, 20, 40); // 0.5
  speed.observe(2, 20, 20); // 1
  const sizes = speed.sizes(64);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 64);
  assert.ok((sizes[0] as number) > (sizes[2] as number) && (sizes[2] as number) > (sizes[1] as number), `sizes ${sizes}`);
  assert.deepEqual(sizes, [37, 9, 18]);
  // A rank that turns out very slow keeps a floor share, so it is still measured.
  const floor = new ShardBalancer({ mode: 'speed', ranks: 2, minShare: 0.1 });
  floor.observe(0, 10, 1);
  floor.observe(1, 10, 10_000);
  assert.ok((floor.sizes(100)[1] as number) >= 4);
});
