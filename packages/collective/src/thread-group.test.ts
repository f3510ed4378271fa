import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { ThreadReport, ThreadStart } from './fixtures/thread-rank.js';
import { createThreadGroup } from './thread-group.js';
import type { ThreadGroup, ThreadGroupOptions } from './thread-group.js';
import { AWKWARD_SIZES, assertBitIdentical, assertClose, inputFor, reference } from './testing.js';

const THREAD_SCRIPT = new URL('./fixtures/thread-rank.js', import.meta.url);

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

export function resultOf(reports: ThreadReport[], name: string): Float32Array {
  const found = reports.find((m) => m.kind === 'result' && m.name === name);
  assert.ok(found && found.kind === 'result', `no result ${name}: ${JSON.stringify(reports.filter((m) => m.kind === 'error'))}`);
  return found.values;
}

/** Checks the exactness scenario's results for `size` global ranks. */
export function checkExactness(reports: ThreadReport[][], size: number, sizes: readonly number[], what: string): void {
  for (const n of sizes) {
    for (const op of ['sum', 'mean', 'max'] as const) {
      const got = reports.map((r) => resultOf(r, `allReduce:${op}:${n}`));
      const inputs = got.map((_, r) => inputFor(r, n, size));
      assertClose(got[0] as Float32Array, reference(inputs, op), `${what} ${op} n=${n}`);
      assertBitIdentical(got, `${what} ${op} n=${n}`);
    }
    const shared = reports.map((r) => resultOf(r, `shared:${n}`));
    assertClose(shared[0] as Float32Array, reference(shared.map((_, r) => inputFor(r, n, size)), 'sum'), `${what} shared n=${n}`);
    assertBitIdentical(shared, `${what} shared n=${n}`);
    const root = inputFor(size - 1, n, 9);
    reports.forEach((r) => assert.deepEqual(resultOf(r, `broadcast:${n}`), root, `${what} broadcast n=${n}`));
    const gathered = new Float32Array(n * size);
    for (let r = 0; r < size; r++) gathered.set(inputFor(r, n, 3), r * n);
    reports.forEach((r) => assert.deepEqual(resultOf(r, `allGather:${n}`), gathered, `${what} allGather n=${n}`));
    const whole = reference(Array.from({ length: size }, (_, r) => inputFor(r, n * size, 4)), 'mean');
    reports.forEach((r, rank) => assertClose(resultOf(r, `reduceScatter:${n}`), whole.subarray(rank * n, (rank + 1) * n), `${what} reduceScatter n=${n}`));
  }
  for (const n of [3, 5000]) {
    for (let first = 0; first + 1 < size; first += 2) {
      const pair = [first, first + 1].map((r) => reports[r]).filter((r) => r?.some((m) => m.kind === 'result' && m.name === `split:${n}`));
      if (pair.length < 2) continue;
      const got = pair.map((r) => resultOf(r as ThreadReport[], `split:${n}`));
      assertClose(got[0] as Float32Array, reference([inputFor(first, n, 5), inputFor(first + 1, n, 5)], 'sum'), `${what} split n=${n}`);
      assertBitIdentical(got, `${what} split n=${n}`);
    }
  }
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
