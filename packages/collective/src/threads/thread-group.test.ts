import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { ThreadReport, ThreadStart } from '../fixtures/thread-rank.js';
import { createThreadGroup } from './thread-group.js';
import type { ThreadGroup, ThreadGroupOptions } from './thread-group.js';
import { checkExactness, checkStarted } from '../fixtures/thread-checks.js';
import { AWKWARD_SIZES } from '../testing.js';

const THREAD_SCRIPT = new URL('../fixtures/thread-rank.js', import.meta.url);

async function runThreads(
  options: ThreadGroupOptions,
  scenario: ThreadStart['scenario'],
  sizes: readonly number[],
  during?: (group: ThreadGroup, reports: ThreadReport[][]) => Promise<void>
): Promise<ThreadReport[][]> {
  const group = createThreadGroup(options);
  const reports: ThreadReport[][] = Array.from({ length: options.threads }, () => []);
  const workers = reports.map((_, localRank) => {
    const start: ThreadStart = { handle: group.handle, localRank, scenario, sizes };
    const w = new Worker(THREAD_SCRIPT, { workerData: start });
    w.on('message', (m) => reports[localRank]?.push(m as ThreadReport));
    return new Promise<void>((resolve, reject) => {
      w.on('error', reject);
      w.on('exit', () => resolve());
    });
  });
  await during?.(group, reports);
  await Promise.all(workers);
  group.close();
  return reports;
}

// Small slots and small-path limits so that the sizes exercise pieces, both paths and zero-copy.
const TEST_OPTIONS = { slotBytes: 16 * 1024, smallBytes: 1024, arenaBytes: 2 * 1024 * 1024, opTimeoutMs: 20_000 };

test('threads P=1..5: every collective is exact and bit-identical across ranks', { timeout: 120_000 }, async () => {
  for (let threads = 1; threads <= 5; threads++) {
    const reports = await runThreads({ threads, ...TEST_OPTIONS }, 'exactness', AWKWARD_SIZES);
    checkExactness(reports, threads, AWKWARD_SIZES, `threads=${threads}`);
    reports.forEach((r) => assert.ok(r.some((m) => m.kind === 'done')));
  }
});

test('threads of one process: allReduceStart does not overlap (no comm side), it is the blocking all-reduce, exact', { timeout: 60_000 }, async () => {
  for (const threads of [1, 3]) {
    const reports = await runThreads({ threads, ...TEST_OPTIONS }, 'started', []);
    checkStarted(reports, `threads=${threads}`, false, false);
    reports.forEach((r) => assert.ok(r.some((m) => m.kind === 'done')));
  }
});

test('a thread that never arrives: the others fail with COLL_ERR_TIMEOUT at the deadline, not later', { timeout: 30_000 }, async () => {
  const reports = await runThreads({ threads: 3, ...TEST_OPTIONS, opTimeoutMs: 1_000 }, 'stall', []);
  for (const r of reports.slice(1)) {
    const err = r.find((m) => m.kind === 'error');
    assert.ok(err && err.kind === 'error');
    assert.equal(err.code, 'COLL_ERR_TIMEOUT');
    assert.ok(err.ms >= 900 && err.ms < 2_500, `failed after ${err.ms} ms`);
  }
});

test('abort from the parent fails every waiting rank thread with COLL_ERR_ABORTED at once', { timeout: 30_000 }, async () => {
  const reports = await runThreads({ threads: 3, ...TEST_OPTIONS }, 'loop', [], async (group, seen) => {
    while (!seen.every((r) => r.some((m) => m.kind === 'progress' && m.step >= 5))) await new Promise((resolve) => setTimeout(resolve, 5));
    group.abort('test');
  });
  for (const r of reports) {
    const err = r.find((m) => m.kind === 'error');
    assert.ok(err && err.kind === 'error');
    assert.equal(err.code, 'COLL_ERR_ABORTED');
    assert.ok(err.ms < 1_000);
  }
});

test('ranks that call different collectives fail with COLL_ERR_DESYNC instead of mixing data', { timeout: 30_000 }, async () => {
  const reports = await runThreads({ threads: 2, ...TEST_OPTIONS }, 'desync', []);
  for (const r of reports) {
    const err = r.find((m) => m.kind === 'error');
    assert.ok(err && err.kind === 'error');
    assert.equal(err.code, 'COLL_ERR_DESYNC');
  }
});

test('joining twice, bad handles and bad arguments fail with COLL_ERR_ARGUMENT', async () => {
  const { joinThreadGroup } = await import('./thread-communicator.js');
  const group = createThreadGroup({ threads: 1, ...TEST_OPTIONS });
  const comm = joinThreadGroup(group.handle, 0);
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      return (err as { code: string }).code;
    }
    return 'no error';
  };
  assert.equal(code(() => joinThreadGroup(group.handle, 0)), 'COLL_ERR_ARGUMENT');
  assert.equal(code(() => joinThreadGroup({ kind: 'x' }, 0)), 'COLL_ERR_ARGUMENT');
  assert.equal(code(() => comm.allReduce(new Float32Array(4), 'prod' as 'sum')), 'COLL_ERR_ARGUMENT');
  assert.equal(code(() => comm.broadcast(new Float32Array(4), 1)), 'COLL_ERR_ARGUMENT');
  assert.equal(code(() => comm.allocShared(1e9)), 'COLL_ERR_ARGUMENT');
  comm.allReduce(new Float32Array(4), 'sum');
  group.close();
  assert.equal(code(() => comm.allReduce(new Float32Array(4), 'sum')), 'COLL_ERR_CLOSED');
});
