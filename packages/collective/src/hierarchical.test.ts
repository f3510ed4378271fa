import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { HierReport, HierStart } from './fixtures/hier-process.js';
import type { ThreadReport } from './fixtures/thread-rank.js';
import { checkExactness, resultOf } from './fixtures/thread-checks.js';
import { AWKWARD_SIZES, assertBitIdentical, assertClose, inputFor, reference } from './testing.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/hier-process.js', import.meta.url));

async function launch(processes: number, threads: number, scenario: HierStart['scenario'], sizes: readonly number[], opTimeoutMs: number) {
  const children = Array.from({ length: processes }, () => fork(SCRIPT, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const raw: HierReport[][] = children.map(() => []);
  children.forEach((c, p) => c.on('message', (m) => raw[p]?.push(m as HierReport)));
  const waitFor = async (pred: () => boolean, ms: number): Promise<void> => {
    const until = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > until) throw new Error(`timed out after ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  children.forEach((c, rank) => c.send({ rank, size: processes, threads, scenario, sizes, opTimeoutMs } satisfies HierStart));
  await waitFor(() => raw.every((r) => r.some((m) => m.kind === 'port')), 20_000);
  const peers = raw.map((r, rank) => ({ rank, host: '127.0.0.1', port: (r.find((m) => m.kind === 'port') as { port: number }).port }));
  children.forEach((c) => c.send(peers));
  /** Reports per global rank. */
  const byRank = (): ThreadReport[][] =>
    Array.from({ length: processes * threads }, (_, g) =>
      (raw[Math.floor(g / threads)] ?? []).flatMap((m) => (m.kind === 'thread' && m.localRank === g % threads ? [m.report] : []))
    );
  const exited = (ms: number): Promise<void> =>
    waitFor(() => children.every((c) => c.exitCode !== null || c.signalCode !== null), ms).catch((err: unknown) => {
      children.forEach((c) => c.kill('SIGKILL'));
      throw err;
    });
  return { children, byRank, waitFor, exited };
}

test('2 processes x 2 threads: one communicator over 4 global ranks, exact and bit-identical', { timeout: 120_000 }, async () => {
  const run = await launch(2, 2, 'exactness', AWKWARD_SIZES, 30_000);
  await run.exited(100_000);
  const reports = run.byRank();
  checkExactness(reports, 4, AWKWARD_SIZES, '2x2');
  reports.forEach((r) => assert.ok(r.some((m) => m.kind === 'done'), JSON.stringify(r.filter((m) => m.kind === 'error'))));
});

test('2 processes x 1 thread (the facade of a one-rank process): exact and bit-identical', { timeout: 60_000 }, async () => {
  const sizes = [0, 1, 97, 4099, 65537];
  const run = await launch(2, 1, 'exactness', sizes, 30_000);
  await run.exited(50_000);
  checkExactness(run.byRank(), 2, sizes, '2x1');
});

test('3 processes x 2 threads: split into whole processes works, a partial split is refused', { timeout: 120_000 }, async () => {
  const sizes = [0, 7, 4099];
  const run = await launch(3, 2, 'exactness', sizes, 30_000);
  await run.exited(100_000);
  const reports = run.byRank();
  checkExactness(reports, 6, sizes, '3x2');
  const two = reports.slice(0, 4).map((r) => resultOf(r, 'split-processes:5000'));
  assertClose(two[0] as Float32Array, reference([0, 1, 2, 3].map((r) => inputFor(r, 5000, 6)), 'mean'), 'split into processes 0-1');
  assertBitIdentical(two, 'split into processes 0-1');
  reports.forEach((r, rank) => {
    const partial = r.find((m) => m.kind === 'result' && m.name.startsWith('split-partial:'));
    // Ranks 0..2 ask for ranks {0,1,2}: process 0 whole plus half of process 1.
    if (rank <= 2) assert.equal(partial?.kind === 'result' && partial.name, 'split-partial:COLL_ERR_UNSUPPORTED');
  });
});

test('3 processes x 2 threads, a process killed with SIGKILL: every surviving rank thread fails with PEER_LOST naming it', { timeout: 60_000 }, async () => {
  const opTimeoutMs = 20_000;
  const run = await launch(3, 2, 'loop', [], opTimeoutMs);
  await run.waitFor(() => run.byRank().every((r) => r.some((m) => m.kind === 'progress' && m.step >= 3)), 30_000);
  run.children[1]?.kill('SIGKILL');
  const survivors = [0, 1, 4, 5];
  await run.waitFor(() => survivors.every((g) => run.byRank()[g]?.some((m) => m.kind === 'error')), opTimeoutMs);
  for (const g of survivors) {
    const err = run.byRank()[g]?.find((m) => m.kind === 'error');
    assert.ok(err && err.kind === 'error');
    assert.equal(err.code, 'COLL_ERR_PEER_LOST', `rank ${g}: ${err.message}`);
    assert.equal(err.peer, 2, `rank ${g} blames the killed process's first rank`);
    assert.ok(err.ms < opTimeoutMs / 2, `rank ${g} took ${err.ms} ms`);
  }
  await run.exited(15_000);
});
