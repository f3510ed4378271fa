import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { connect } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RankReport, RankStart } from '../fixtures/process-rank.js';
import { assertBitIdentical, assertClose, inputFor, reference } from '../testing.js';
import { ProcessGroupListener } from './process-group-listener.js';

const RANK_SCRIPT = fileURLToPath(new URL('../fixtures/process-rank.js', import.meta.url));

interface Ranks {
  readonly children: ChildProcess[];
  readonly reports: RankReport[][];
  /** Resolves when every child has exited (or after `ms`, with the stragglers killed). */
  exited(ms: number): Promise<void>;
  waitFor(pred: () => boolean, ms: number): Promise<void>;
}

/** Rank processes, killed when the test ends whatever happened (a 'kill' loop left running would keep this file's process alive). */
async function launch(t: TestContext, size: number, start: Omit<RankStart, 'rank' | 'size'>, secrets?: string[]): Promise<Ranks> {
  const children = Array.from({ length: size }, () => fork(RANK_SCRIPT, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  t.after(() => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')));
  const reports: RankReport[][] = children.map(() => []);
  children.forEach((c, r) => c.on('message', (m) => reports[r]?.push(m as RankReport)));
  const waitFor = async (pred: () => boolean, ms: number): Promise<void> => {
    const until = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > until) throw new Error(`timed out after ${ms} ms; reports: ${JSON.stringify(reports.map((r) => r.map((x) => x.kind)))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  children.forEach((c, rank) => c.send({ ...start, rank, size, secret: secrets?.[rank] ?? start.secret }));
  await waitFor(() => reports.every((r) => r.some((m) => m.kind === 'port')), 20_000);
  const peers = reports.map((r, rank) => ({ rank, host: '127.0.0.1', port: (r.find((m) => m.kind === 'port') as { port: number }).port }));
  children.forEach((c) => c.send(peers));
  const exited = async (ms: number): Promise<void> => {
    const exited = (c: ChildProcess): Promise<unknown> =>
      c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((resolve) => c.once('exit', resolve));
    const all = Promise.all(children.map(exited));
    const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), ms).unref());
    if ((await Promise.race([all, timer])) === 'late') {
      children.forEach((c) => c.kill('SIGKILL'));
      assert.fail(`rank processes did not exit within ${ms} ms (leaked handles?)`);
    }
  };
  return { children, reports, exited, waitFor };
}

function results(reports: RankReport[], name: string): Float32Array {
  const found = reports.find((m) => m.kind === 'result' && m.name === name);
  assert.ok(found && found.kind === 'result', `no result ${name}: ${JSON.stringify(reports.filter((m) => m.kind === 'error'))}`);
  return found.values;
}

const SIZES = [0, 1, 3, 7, 97, 4099, 65537, 300_007];

for (const size of [2, 3, 4]) {
  test(`processes P=${size}: all-reduce, broadcast, allGather, split over sockets are exact and bit-identical`, { timeout: 120_000 }, async (t) => {
    const ranks = await launch(t, size, { scenario: 'exactness', secret: 's3cret', opTimeoutMs: 30_000, sizes: SIZES, smallBytes: 4096 });
    await ranks.exited(100_000);
    for (const n of SIZES) {
      for (const op of ['sum', 'mean', 'max'] as const) {
        const got = ranks.reports.map((r) => results(r, `allReduce:${op}:${n}`));
        const inputs = got.map((_, r) => inputFor(r, n, size));
        assertClose(got[0] as Float32Array, reference(inputs, op), `P=${size} ${op} n=${n}`);
        assertBitIdentical(got, `P=${size} ${op} n=${n}`);
      }
      const root = inputFor(size - 1, n, 9);
      ranks.reports.forEach((r) => assert.deepEqual(results(r, `broadcast:${n}`), root));
      const gathered = new Float32Array(n * size);
      for (let r = 0; r < size; r++) gathered.set(inputFor(r, n, 3), r * n);
      ranks.reports.forEach((r) => assert.deepEqual(results(r, `allGather:${n}`), gathered));
    }
    const pair = [0, size - 1].map((r) => results(ranks.reports[r] as RankReport[], 'split:sum'));
    assertClose(pair[0] as Float32Array, reference([inputFor(0, 1001, 5), inputFor(size - 1, 1001, 5)], 'sum'), 'split');
    assertBitIdentical(pair, 'split');
    ranks.reports.forEach((r) => assert.ok(r.some((m) => m.kind === 'done')));
  });
}

const KILLED_MID_OPERATION = 'a rank process killed with SIGKILL mid-operation: every survivor fails with PEER_LOST naming it, well within the deadline';
test(KILLED_MID_OPERATION, { timeout: 60_000 }, async (t) => {
  const opTimeoutMs = 20_000;
  const ranks = await launch(t, 4, { scenario: 'kill', secret: 'k', opTimeoutMs, sizes: [], smallBytes: 4096 });
  await ranks.waitFor(() => ranks.reports.every((r) => r.some((m) => m.kind === 'progress' && m.step >= 2)), 30_000);
  ranks.children[2]?.kill('SIGKILL');
  const survivors = [0, 1, 3];
  await ranks.waitFor(() => survivors.every((r) => ranks.reports[r]?.some((m) => m.kind === 'error')), opTimeoutMs);
  for (const r of survivors) {
    const err = ranks.reports[r]?.find((m) => m.kind === 'error');
    assert.ok(err && err.kind === 'error');
    assert.equal(err.code, 'COLL_ERR_PEER_LOST', `rank ${r}: ${err.message}`);
    assert.equal(err.peer, 2, `rank ${r}: ${err.message}`);
    assert.ok(err.ms < opTimeoutMs / 2, `rank ${r} took ${err.ms} ms`);
  }
  await ranks.exited(15_000);
});

test('abort on one rank fails every rank with COLL_ERR_ABORTED and lets every process exit', { timeout: 60_000 }, async (t) => {
  const ranks = await launch(t, 3, { scenario: 'abort', secret: 'a', opTimeoutMs: 20_000, sizes: [], smallBytes: 4096 });
  await ranks.exited(30_000);
  ranks.reports.forEach((r, rank) => {
    const err = r.find((m) => m.kind === 'error');
    assert.ok(err && err.kind === 'error', `rank ${rank} saw no error`);
    assert.equal(err.code, 'COLL_ERR_ABORTED', `rank ${rank}: ${err.message}`);
    assert.equal(err.peer, 0);
  });
});

test('a peer with the wrong job secret is refused: COLL_ERR_AUTH, no link', { timeout: 60_000 }, async (t) => {
  const ranks = await launch(t, 2, { scenario: 'idle', secret: 'right', opTimeoutMs: 5_000, sizes: [], smallBytes: 4096 }, ['right', 'wrong']);
  await ranks.exited(30_000);
  // Both sides dial (each receives on the connection it dialed), so a rank learns of the
  // mismatch as soon as its own dial is answered. A rank that fails closes its listener: on
  // a busy machine the other may dial only after that, and then finds no one to ask (its
  // connect deadline, 3 s here, ends it with COLL_ERR_CONNECT). An inbound stranger's bad
  // proof never fails a group by itself (anyone could send one), so that is the honest end.
  const errors = [0, 1].map((rank) => {
    const err = ranks.reports[rank]?.find((m) => m.kind === 'error');
    assert.ok(err && err.kind === 'error', `rank ${rank} saw no error`);
    t.diagnostic(`rank ${rank}: ${err.code} after ${err.ms} ms`);
    return err;
  });
  assert.ok(errors.some((err) => err.code === 'COLL_ERR_AUTH'), 'a rank saw the secret mismatch');
  for (const [rank, err] of errors.entries()) {
    if (err.code === 'COLL_ERR_AUTH') assert.ok(err.ms < 2_000, `rank ${rank} took ${err.ms} ms`);
    else assert.equal(err.code, 'COLL_ERR_CONNECT', `rank ${rank}: ${err.message}`);
  }
});

test('a group still forming stops at once when its signal aborts: COLL_ERR_ABORTED, and its port is closed', { timeout: 30_000 }, async () => {
  const listener = await ProcessGroupListener.open();
  const port = listener.port;
  const leaving = new AbortController();
  // Rank 1 never comes: without the abort, connect waits for the whole 60 s deadline.
  const forming = listener.connect({ rank: 0, size: 2, peers: [{ rank: 1, host: '127.0.0.1', port: 1 }], jobSecret: 's', connectTimeoutMs: 60_000, signal: leaving.signal });
  const started = performance.now();
  setTimeout(() => leaving.abort('the job failed'), 100);
  await assert.rejects(forming, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'COLL_ERR_ABORTED');
    assert.match(error.message, /stopped forming the group: the job failed/);
    return true;
  });
  const ms = performance.now() - started;
  console.log(`# forming stopped ${ms.toFixed(0)} ms after it began (abort at 100 ms)`);
  assert.ok(ms < 2_000, `stopped after ${ms.toFixed(0)} ms`);
  const refused = await new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
  assert.ok(refused, 'the listener still accepts connections after the abort');
});

test('processes P=3: traffic counts the payload the ring must send, its framing, and the time in flight', { timeout: 60_000 }, async (t) => {
  const size = 3;
  const chunk = 100_000;
  const ranks = await launch(t, size, { scenario: 'traffic', secret: 's', opTimeoutMs: 30_000, sizes: [size * chunk], smallBytes: 4096 });
  await ranks.exited(50_000);
  // Ring all-reduce: P-1 chunks out in the reduce-scatter, P-1 in the all-gather.
  const ringBytes = 2 * (size - 1) * chunk * 4;
  // 64 KB segments (the fixture's): each chunk leaves in ceil(chunk / 16384) frames.
  const frames = 2 * (size - 1) * Math.ceil(chunk / 16_384);
  for (const [rank, reports] of ranks.reports.entries()) {
    const found = reports.find((m) => m.kind === 'traffic');
    assert.ok(found && found.kind === 'traffic', `rank ${rank}: no traffic report: ${JSON.stringify(reports.filter((m) => m.kind === 'error'))}`);
    const { before, after } = found;
    assert.equal(after.payloadSentBytes - before.payloadSentBytes, ringBytes, `rank ${rank} payload sent`);
    assert.equal(after.payloadReceivedBytes - before.payloadReceivedBytes, ringBytes, `rank ${rank} payload received`);
    const overhead = after.sentBytes - before.sentBytes - ringBytes;
    assert.ok(overhead > 0 && overhead <= frames * 200, `rank ${rank}: ${overhead} bytes of framing for ${frames} frames`);
    assert.ok(after.receivedBytes > after.payloadReceivedBytes, `rank ${rank}: wire bytes received include the payload`);
    assert.equal(after.operations - before.operations, 1);
    assert.ok(after.busyMs - before.busyMs > 0, `rank ${rank}: the all-reduce took no time`);
  }
});

/**
 * Compressed all-reduce tolerance, from the format: every hop rounds a partial sum to the
 * half format (unit roundoff u: 2^-8 bf16, 2^-11 fp16), a ring chunk makes P - 1 hops and
 * the reduced value is rounded once more for the all-gather, so per element
 * |got - sum| <= (P + 1) u sum|x_i| (+ P float16 subnormal spacings near zero).
 */
const UNIT_ROUNDOFF = { bf16: 2 ** -8, fp16: 2 ** -11 } as const;
const COMPRESSED_SIZES = [0, 1, 7, 4099, 65537, 300_007];
const COMPRESSED_CASES = [[2, 'bf16'], [2, 'fp16'], [2, 'none'], [3, 'bf16'], [4, 'bf16'], [4, 'fp16']] as const;

for (const [size, compress] of COMPRESSED_CASES) {
  test(`processes P=${size}, compress ${compress}: the gradient all-reduce is within its format's tolerance and bit-identical on every rank`, { timeout: 120_000 }, async (t) => {
    const ranks = await launch(t, size, { scenario: 'compressed', secret: 'c', opTimeoutMs: 30_000, sizes: COMPRESSED_SIZES, smallBytes: 4096, compress });
    // A child's last large report may still be on its way when it exits: wait for the marker it sends last.
    await ranks.waitFor(() => ranks.reports.every((r) => r.some((m) => m.kind === 'flushed')), 100_000);
    await ranks.exited(20_000);
    let worst = 0;
    let worstOfSum = 0;
    for (const n of COMPRESSED_SIZES) {
      const got = ranks.reports.map((r) => results(r, `compressed:${n}`));
      const exact = ranks.reports.map((r) => results(r, `exact:${n}`));
      const inputs = got.map((_, r) => inputFor(r, n, size));
      assertBitIdentical(got, `P=${size} ${compress} n=${n}`);
      assertBitIdentical(exact, `P=${size} ${compress} exact n=${n}`);
      assertClose(exact[0] as Float32Array, reference(inputs, 'sum'), `P=${size} uncompressed n=${n}`);
      const root = inputFor(size - 1, n, 9);
      ranks.reports.forEach((r) => assert.deepEqual(results(r, `broadcast:${n}`), root, 'broadcasts stay exact'));
      if (compress === 'none') {
        // No format: the same bits as an ordinary float32 all-reduce.
        assert.deepEqual(got[0], exact[0], `none n=${n}`);
        continue;
      }
      const want = reference(inputs, 'sum');
      const u = UNIT_ROUNDOFF[compress];
      for (let i = 0; i < n; i++) {
        const magnitude = inputs.reduce((acc, x) => acc + Math.abs(x[i] as number), 0);
        const err = Math.abs((got[0]?.[i] as number) - (want[i] as number));
        if (!(err <= (size + 1) * u * magnitude + size * 2 ** -24)) assert.fail(`P=${size} ${compress} n=${n} element ${i}: error ${err}, sum|x| ${magnitude}`);
        worst = Math.max(worst, err / magnitude);
        if (Math.abs(want[i] as number) > 1) worstOfSum = Math.max(worstOfSum, err / Math.abs(want[i] as number));
      }
    }
    if (compress !== 'none') {
      const bound = (size + 1) * UNIT_ROUNDOFF[compress];
      t.diagnostic(`P=${size} ${compress}: max |error| / sum|x_i| = ${worst.toExponential(3)} (bound ${bound.toExponential(3)}); max relative error where |sum| > 1: ${worstOfSum.toExponential(3)}`);
    }
  });
}
