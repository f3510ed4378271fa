import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { HierReport, HierStart } from '../fixtures/hier-process.js';
import type { ThreadReport } from '../fixtures/thread-rank.js';
import { checkExactness, checkProcessSplits, checkStarted } from '../fixtures/thread-checks.js';
import { RankLayout } from '../rank-layout.js';
import { AWKWARD_SIZES, assertBitIdentical, inputFor, reference } from '../testing.js';

const SCRIPT = fileURLToPath(new URL('../fixtures/hier-process.js', import.meta.url));

/**
 * One worker process per entry of `localSizes`, hosting that many rank threads. Whatever
 * happens in the test, they are killed when it ends: a 'loop' process left running would
 * keep the test file's process (its IPC parent) alive forever.
 */
async function launch(
  t: TestContext,
  localSizes: readonly number[],
  scenario: HierStart['scenario'],
  sizes: readonly number[],
  opTimeoutMs: number,
  compress?: HierStart['compress']
) {
  const layout = new RankLayout(localSizes);
  const children = localSizes.map(() => fork(SCRIPT, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  t.after(() => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')));
  const raw: HierReport[][] = children.map(() => []);
  children.forEach((c, p) => c.on('message', (m) => raw[p]?.push(m as HierReport)));
  const waitFor = async (pred: () => boolean, ms: number): Promise<void> => {
    const until = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > until) throw new Error(`timed out after ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  children.forEach((c, rank) => c.send({ rank, localSizes, scenario, sizes, opTimeoutMs, ...(compress === undefined ? {} : { compress }) } satisfies HierStart));
  await waitFor(() => raw.every((r) => r.some((m) => m.kind === 'port')), 20_000);
  const peers = raw.map((r, rank) => ({ rank, host: '127.0.0.1', port: (r.find((m) => m.kind === 'port') as { port: number }).port }));
  children.forEach((c) => c.send(peers));
  /** Reports per global rank. */
  const byRank = (): ThreadReport[][] =>
    Array.from({ length: layout.total }, (_, g) => {
      const p = layout.processOf(g);
      return (raw[p] ?? []).flatMap((m) => (m.kind === 'thread' && m.localRank === g - layout.first(p) ? [m.report] : []));
    });
  const exited = (ms: number): Promise<void> =>
    waitFor(() => children.every((c) => c.exitCode !== null || c.signalCode !== null), ms).catch((err: unknown) => {
      children.forEach((c) => c.kill('SIGKILL'));
      throw err;
    });
  return { children, byRank, waitFor, exited, layout };
}

/** SIGKILLs process `killed`: every rank thread of the others fails with PEER_LOST naming its first rank, well before the timeout. */
async function killAndExpectPeerLost(run: Awaited<ReturnType<typeof launch>>, killed: number, opTimeoutMs: number): Promise<void> {
  run.children[killed]?.kill('SIGKILL');
  const blamed = run.layout.first(killed);
  const survivors = Array.from({ length: run.layout.total }, (_, g) => g).filter((g) => run.layout.processOf(g) !== killed);
  await run.waitFor(() => survivors.every((g) => run.byRank()[g]?.some((m) => m.kind === 'error')), opTimeoutMs);
  for (const g of survivors) {
    const err = run.byRank()[g]?.find((m) => m.kind === 'error');
    assert.ok(err && err.kind === 'error');
    assert.equal(err.code, 'COLL_ERR_PEER_LOST', `rank ${g}: ${err.message}`);
    assert.equal(err.peer, blamed, `rank ${g} blames the killed process's first rank`);
    assert.ok(err.ms < opTimeoutMs / 2, `rank ${g} took ${err.ms} ms`);
  }
  await run.exited(15_000);
}

function assertDone(reports: ThreadReport[][]): void {
  reports.forEach((r, g) => assert.ok(r.some((m) => m.kind === 'done'), `rank ${g}: ${JSON.stringify(r.filter((m) => m.kind === 'error'))}`));
}

test('2 processes x 2 threads: one communicator over 4 global ranks, exact and bit-identical', { timeout: 120_000 }, async (t) => {
  const run = await launch(t, [2, 2], 'exactness', AWKWARD_SIZES, 30_000);
  await run.exited(100_000);
  const reports = run.byRank();
  checkExactness(reports, 4, AWKWARD_SIZES, '2x2');
  checkProcessSplits(reports, [2, 2], '2x2');
  assertDone(reports);
});

test('2 processes x 1 thread (the facade of a one-rank process): exact and bit-identical', { timeout: 60_000 }, async (t) => {
  const sizes = [0, 1, 97, 4099, 65537];
  const run = await launch(t, [1, 1], 'exactness', sizes, 30_000);
  await run.exited(50_000);
  checkExactness(run.byRank(), 2, sizes, '2x1');
  assertDone(run.byRank());
});

test('3 processes x 2 threads: splits into whole processes work, a partial split is refused', { timeout: 120_000 }, async (t) => {
  const sizes = [0, 7, 4099];
  const run = await launch(t, [2, 2, 2], 'exactness', sizes, 30_000);
  await run.exited(100_000);
  const reports = run.byRank();
  checkExactness(reports, 6, sizes, '3x2');
  checkProcessSplits(reports, [2, 2, 2], '3x2');
  assertDone(reports);
});

// Unequal worker sizes: global ranks count from every process's own thread count.
for (const localSizes of [
  [1, 3],
  [2, 1, 3]
]) {
  const name = localSizes.join('+');
  test(`${localSizes.length} processes with ${name} threads: every collective and split is exact and bit-identical`, { timeout: 150_000 }, async (t) => {
    const run = await launch(t, localSizes, 'exactness', AWKWARD_SIZES, 30_000);
    await run.exited(130_000);
    const reports = run.byRank();
    checkExactness(reports, run.layout.total, AWKWARD_SIZES, name);
    checkProcessSplits(reports, localSizes, name);
    assertDone(reports);
  });
}

const killCases: Array<{ localSizes: number[]; killed: number }> = [
  { localSizes: [2, 2, 2], killed: 1 },
  { localSizes: [2, 1, 3], killed: 1 },
  { localSizes: [2, 1, 3], killed: 2 }
];
for (const { localSizes, killed } of killCases) {
  const name =
    `processes with ${localSizes.join('+')} threads, process ${killed} killed with SIGKILL: ` +
    'every surviving rank thread fails with PEER_LOST naming its first rank';
  test(name, { timeout: 60_000 }, async (t) => {
    const opTimeoutMs = 20_000;
    const run = await launch(t, localSizes, 'loop', [], opTimeoutMs);
    await run.waitFor(() => run.byRank().every((r) => r.some((m) => m.kind === 'progress' && m.step >= 3)), 30_000);
    await killAndExpectPeerLost(run, killed, opTimeoutMs);
  });
}

test('ranks of one process that call different collectives: DESYNC everywhere, blamed on that process\'s ranks', { timeout: 60_000 }, async (t) => {
  // Global rank 3 (local rank 2 of process 1) calls with another size.
  const run = await launch(t, [1, 3], 'desync', [], 20_000);
  await run.exited(40_000);
  run.byRank().forEach((r, g) => {
    const err = r.find((m) => m.kind === 'error');
    assert.ok(err && err.kind === 'error', `rank ${g} saw no error: ${JSON.stringify(r)}`);
    assert.equal(err.code, 'COLL_ERR_DESYNC', `rank ${g}: ${err.message}`);
    // Process 0 learns it from process 1 and blames its first rank; process 1's threads
    // blame the global rank they disagree with (3, or 1 as seen from 3).
    if (g === 0) assert.equal(err.peer, 1, err.message);
    else assert.ok(err.peer === 1 || err.peer === 3, `rank ${g} blames ${err.peer}: ${err.message}`);
    assert.ok(err.ms < 10_000, `rank ${g} took ${err.ms} ms`);
  });
});

test('2 processes x 2 threads, compress bf16: threads reduce exactly, processes within bf16 tolerance, every rank the same bits', { timeout: 120_000 }, async (t) => {
  const sizes = [1, 97, 4099, 65537];
  const run = await launch(t, [2, 2], 'compressed', sizes, 30_000, 'bf16');
  await run.exited(100_000);
  const reports = run.byRank();
  assertDone(reports);
  const result = (g: number, name: string): Float32Array => {
    const found = reports[g]?.find((m) => m.kind === 'result' && m.name === name);
    assert.ok(found && found.kind === 'result', `rank ${g}: no ${name}`);
    return found.values;
  };
  let worst = 0;
  for (const n of sizes) {
    for (const name of [`compressed:${n}`, `compressed-shared:${n}`]) {
      const got = [0, 1, 2, 3].map((g) => result(g, name));
      assertBitIdentical(got, name);
      const inputs = [0, 1, 2, 3].map((g) => inputFor(g, n, 4));
      const want = reference(inputs, 'sum');
      // Each process's partial sum is exact float32 (threads never compress); the 2 processes
      // then round on 2 hops and once at the end: (P + 1) u sum|x| with P = 2, u = 2^-8.
      for (let i = 0; i < n; i++) {
        const magnitude = inputs.reduce((acc, x) => acc + Math.abs(x[i] as number), 0);
        const err = Math.abs((got[0]?.[i] as number) - (want[i] as number));
        if (!(err <= 3 * 2 ** -8 * magnitude + 1e-6)) assert.fail(`${name} element ${i}: error ${err}, sum|x| ${magnitude}`);
        worst = Math.max(worst, err / magnitude);
      }
    }
  }
  // Every result is a bfloat16 value: the gradients did travel compressed.
  const bits = new Uint32Array(result(0, 'compressed:65537').buffer);
  assert.ok(bits.every((b) => (b & 0xffff) === 0), 'a result that is not a bfloat16 value');
  t.diagnostic(`2x2 bf16: max |error| / sum|x_i| = ${worst.toExponential(3)} (bound ${(3 * 2 ** -8).toExponential(3)})`);
});

for (const localSizes of [[1, 1], [2, 2], [1, 3]]) {
  const name = localSizes.join('+');
  test(`started all-reduces (${name} threads), blocking collectives between them: exact, bit-identical, completed before any wait`, { timeout: 120_000 }, async (t) => {
    const run = await launch(t, localSizes, 'started', [], 30_000);
    await run.exited(100_000);
    const reports = run.byRank();
    assertDone(reports);
    checkStarted(reports, name, false, true);
  });
}

test('started all-reduces with compress bf16 (2 processes x 2 threads): within bf16 tolerance, every rank the same bits', { timeout: 120_000 }, async (t) => {
  const run = await launch(t, [2, 2], 'started', [], 30_000, 'bf16');
  await run.exited(100_000);
  const reports = run.byRank();
  assertDone(reports);
  checkStarted(reports, '2+2 bf16', true, true);
});

for (const localSizes of [[1, 1, 1], [2, 1, 2]]) {
  test(`started all-reduces in flight (${localSizes.join('+')} threads), process 1 killed: every survivor fails with PEER_LOST, no hang`, { timeout: 60_000 }, async (t) => {
    const opTimeoutMs = 20_000;
    const run = await launch(t, localSizes, 'started-loop', [], opTimeoutMs);
    await run.waitFor(() => run.byRank().every((r) => r.some((m) => m.kind === 'progress' && m.step >= 3)), 30_000);
    await killAndExpectPeerLost(run, 1, opTimeoutMs);
  });
}

for (const localSizes of [[1, 1], [2, 2]]) {
  test(`a started all-reduce that rank 0 never posts (${localSizes.join('+')} threads): every other rank's wait fails by the deadline`, { timeout: 60_000 }, async (t) => {
    const opTimeoutMs = 2_000;
    const run = await launch(t, localSizes, 'started-stall', [], opTimeoutMs);
    await run.exited(30_000);
    run.byRank().forEach((r, g) => {
      if (g === 0) return;
      const err = r.find((m) => m.kind === 'error');
      assert.ok(err && err.kind === 'error', `rank ${g} saw no error: ${JSON.stringify(r)}`);
      assert.ok(['COLL_ERR_TIMEOUT', 'COLL_ERR_ABORTED', 'COLL_ERR_PEER_LOST'].includes(err.code), `rank ${g}: ${err.code} ${err.message}`);
      assert.ok(err.ms < opTimeoutMs * 2 + 1_000, `rank ${g} failed after ${err.ms} ms`);
      t.diagnostic(`rank ${g}: ${err.code} after ${err.ms} ms: ${err.message}`);
    });
  });
}
