import assert from 'node:assert/strict';
import { test } from 'node:test';
import { overlapsOnThisMachine } from './ring-membership.js';

const place = (hosts: string[], threads = 1, processRank = 0) => ({
  processRank,
  processCount: hosts.length,
  rankOffset: processRank * threads,
  threads,
  worldSize: hosts.length * threads,
  peers: hosts.map((host, rank) => ({ rank, host, port: 1000 + rank, threads })),
});

test('the gradient all-reduce overlaps backward unless this machine has more rank threads than cores', () => {
  assert.equal(overlapsOnThisMachine(place(['127.0.0.1', '127.0.0.1']), 2).overlaps, true, 'train --procs 2 on 2 cores');
  const four = overlapsOnThisMachine(place(['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1']), 2);
  assert.deepEqual([four.overlaps, four.rankThreads], [false, 4], 'train --procs 4 on 2 cores');
  assert.match(four.why, /4 rank threads on 2 cores/);
  // Rank threads of other machines do not count; this worker's own threads do.
  assert.equal(overlapsOnThisMachine(place(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'], 2, 2), 2).overlaps, true);
  assert.equal(overlapsOnThisMachine(place(['10.0.0.1', '10.0.0.2'], 3, 1), 2).overlaps, false);
});
