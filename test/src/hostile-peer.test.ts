import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import type { TestContext } from 'node:test';
import { FRAME_TAG_BYTES, ProcessGroupListener, type ProcessGroup } from '@tfjs-ddp/collective';
import { FRAME_PREFIX_BYTES, NONCE_BYTES, encodeFrameBytes, type Message } from '@tfjs-ddp/protocol';
import { startFrameProxy } from './harness/frame-proxy.js';
import { fuzzSeed, Prng } from './harness/prng.js';
import { tcpExchange } from './harness/tcp-fuzz.js';

/**
 * Issue 13 item 4: what a stranger can do to a worker's peer port while its group forms
 * (two listeners in this process form a group of two; rank 0 waits for rank 1). Each
 * test's randomness comes from a seed that changes per run and is printed; replay one
 * with TFJS_DDP_FUZZ_SEED=<seed>.
 */
const SECRET = 'the-peer-secret';
const GROUP = 'g';
/** The per-connection handshake deadline these groups use: far below their connect deadline. */
const HANDSHAKE_MS = 1_500;
const CONNECT_MS = 20_000;
/** More idle sockets than a listener keeps in handshake (MAX_PENDING_HANDSHAKES is 64). */
const IDLE_SOCKETS = 100;

function seeded(t: TestContext): Prng {
  const seed = fuzzSeed((Math.random() * 0x100000000) >>> 0);
  t.diagnostic(`seed ${seed} (replay with TFJS_DDP_FUZZ_SEED=${seed})`);
  return new Prng(seed);
}

interface Pair {
  readonly ports: number[];
  connect(rank: number, peers?: Array<{ rank: number; host: string; port: number }>): Promise<ProcessGroup>;
}

/** Two listeners; whatever connects is closed when the test ends. */
async function pair(t: TestContext, handshakeTimeoutMs = HANDSHAKE_MS): Promise<Pair> {
  const listeners = await Promise.all([0, 1].map(() => ProcessGroupListener.open({ host: '127.0.0.1', port: 0 })));
  const ports = listeners.map((l) => l.port);
  const started: Array<Promise<ProcessGroup>> = [];
  t.after(async () => {
    listeners.forEach((l) => l.close());
    await Promise.all(started.map((p) => p.then((g) => g.close(), () => undefined)));
  });
  return {
    ports,
    connect: (rank, peers = ports.map((port, r) => ({ rank: r, host: '127.0.0.1', port }))) => {
      const options = { rank, size: 2, peers, jobSecret: SECRET, groupId: GROUP, connectTimeoutMs: CONNECT_MS, handshakeTimeoutMs };
      const p = (listeners[rank] as ProcessGroupListener).connect(options);
      started.push(p);
      return p;
    },
  };
}

function hello(prng: Prng, from: number, to: number): Buffer {
  return encodeFrameBytes({ v: 2, t: 'hello', group: GROUP, from, to, size: 2, localSizes: [1, 1], nonce: prng.bytes(NONCE_BYTES) });
}

/** A data frame's prefix and header declaring `payloadBytes`, with none of them sent. */
function declaredData(payloadBytes: number): Buffer {
  const message: Message = { v: 2, t: 'data', g: 'w', s: 0, i: 0, off: 0, n: payloadBytes / 4, dt: 'float32' };
  const header = new Packr({ useRecords: false }).pack(message);
  const prefix = Buffer.alloc(FRAME_PREFIX_BYTES);
  prefix.writeUInt32LE(header.byteLength, 0);
  prefix.writeUInt32LE(payloadBytes, 4);
  return Buffer.concat([prefix, header]);
}

/** Opens `n` sockets that say nothing (or `bytes`); resolves each with the ms until the listener closed it. */
function idleSockets(port: number, n: number, bytes: Uint8Array = new Uint8Array(0)): Array<Promise<number>> {
  return Array.from({ length: n }, () => {
    const t0 = Date.now();
    return new Promise<number>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => s.write(bytes));
      s.on('error', () => undefined);
      s.on('close', () => resolve(Date.now() - t0));
      s.resume();
      setTimeout(() => s.destroy(), CONNECT_MS).unref();
    });
  });
}

test('more idle sockets than the pending cap do not stop the ring from forming', { timeout: 30_000 }, async (t) => {
  seeded(t);
  // A handshake deadline far above the time to form, so only the cap's policy (drop the oldest) can explain a quick ring.
  const slowDeadline = 8_000;
  const { ports, connect } = await pair(t, slowDeadline);
  const rank0 = connect(0);
  const idle = idleSockets(ports[0] as number, IDLE_SOCKETS);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const t0 = Date.now();
  const groups = await Promise.all([rank0, connect(1)]);
  const formedMs = Date.now() - t0;
  t.diagnostic(`formed in ${formedMs} ms beside ${IDLE_SOCKETS} idle sockets`);
  // Before the fix, sockets past the cap were refused, the real peer's among them, until the idle ones' group deadline.
  assert.ok(formedMs < slowDeadline / 2, `the ring formed only after ${formedMs} ms`);
  await Promise.all(groups.map((g) => g.barrier()));
  const closed = await Promise.all(idle);
  assert.ok(Math.max(...closed) < CONNECT_MS - 1_000, 'every idle socket was closed by the listener');
});

test('silent and half-done handshakes are dropped at the per-connection deadline, long before the group deadline', { timeout: 30_000 }, async (t) => {
  const prng = seeded(t);
  const { ports, connect } = await pair(t);
  const rank0 = connect(0);
  const port = ports[0] as number;
  const good = hello(prng, 1, 0);
  const strangers = [
    ...idleSockets(port, 3),
    // Half a prefix, a hello and nothing more, a hello and half an auth frame.
    ...idleSockets(port, 1, good.subarray(0, prng.range(1, FRAME_PREFIX_BYTES - 1))),
    ...idleSockets(port, 1, good),
    ...idleSockets(port, 1, Buffer.concat([good, encodeFrameBytes({ v: 2, t: 'auth', proof: prng.bytes(32) }).subarray(0, prng.range(1, 20))])),
  ];
  const closedMs = await Promise.all(strangers);
  t.diagnostic(`closed after ${closedMs.join(', ')} ms`);
  for (const ms of closedMs) assert.ok(ms < HANDSHAKE_MS + 1_500, `a stalled stranger held its slot ${ms} ms (handshake deadline ${HANDSHAKE_MS} ms)`);
  const groups = await Promise.all([rank0, connect(1)]);
  await Promise.all(groups.map((g) => g.barrier()));
});

test("a real handshake's proof replayed from another connection is refused (COLL_ERR_AUTH); the ring still forms", { timeout: 30_000 }, async (t) => {
  seeded(t);
  const { ports, connect } = await pair(t);
  const rank0 = connect(0);
  // Rank 1 reaches rank 0 through a proxy that keeps its hello and proof and cuts that first connection.
  const captured: Buffer[] = [];
  const proxy = await startFrameProxy({
    targetPort: ports[0] as number,
    tagBytes: FRAME_TAG_BYTES,
    onFrame: (f) => {
      if (f.connection > 0 || f.direction !== 'to-acceptor') return 'forward';
      captured.push(Buffer.from(f.bytes));
      return f.message.t === 'auth' ? 'cut' : 'forward';
    },
  });
  t.after(() => proxy.close());
  const rank1 = connect(1, [
    { rank: 0, host: '127.0.0.1', port: proxy.port },
    { rank: 1, host: '127.0.0.1', port: ports[1] as number },
  ]);
  const groups = await Promise.all([rank0, rank1]);
  assert.equal(captured.length, 2, 'the proxy kept a hello and a proof');
  // The group is formed and its listener closed: replay to a second forming group with the same secret and ranks.
  await Promise.all(groups.map((g) => g.barrier()));
  const second = await pair(t);
  const again = second.connect(0);
  const replay = await tcpExchange({ host: '127.0.0.1', port: second.ports[0] as number, bytes: Buffer.concat(captured), timeoutMs: 5_000 });
  const abort = replay.frames.find((f) => f.t === 'abort');
  assert.equal(abort?.t === 'abort' ? abort.code : 'no abort', 'COLL_ERR_AUTH', 'the replayed proof was refused');
  assert.ok(!replay.frames.some((f) => f.t === 'ready'), 'no ready for a replay');
  await Promise.all([again, second.connect(1)]);
});

test('ready first, data first, and a huge frame declared before the proof are closed at once with nothing allocated', { timeout: 30_000 }, async (t) => {
  const prng = seeded(t);
  const { ports, connect } = await pair(t);
  const rank0 = connect(0);
  const port = ports[0] as number;
  const huge = 256 * 1024 * 1024;
  const cases: Array<[string, Buffer]> = [
    ['ready, then a data frame declaring 256 MiB', Buffer.concat([encodeFrameBytes({ v: 2, t: 'ready' }), declaredData(huge)])],
    ['a data frame first', encodeFrameBytes({ v: 2, t: 'data', g: 'w', s: 0, i: 0, off: 0, n: 4, dt: 'float32' }, prng.bytes(16))],
    ['hello, then a data frame declaring 256 MiB', Buffer.concat([hello(prng, 1, 0), declaredData(huge)])],
    ['ready first', encodeFrameBytes({ v: 2, t: 'ready' })],
  ];
  for (const [label, bytes] of cases) {
    const before = process.memoryUsage().arrayBuffers;
    const outcome = await tcpExchange({ host: '127.0.0.1', port, bytes, timeoutMs: 5_000 });
    const grew = process.memoryUsage().arrayBuffers - before;
    t.diagnostic(`${label}: closed after ${outcome.ms} ms, array buffers grew ${grew} bytes`);
    assert.ok(outcome.closedByPeer && outcome.ms < 1_000, `${label}: closed at once (${outcome.ms} ms)`);
    assert.ok(!outcome.frames.some((f) => f.t === 'ready'), `${label}: no link`);
    assert.ok(grew < 16 * 1024 * 1024, `${label}: ${grew} bytes allocated for a stranger`);
  }
  const groups = await Promise.all([rank0, connect(1)]);
  await Promise.all(groups.map((g) => g.barrier()));
});
