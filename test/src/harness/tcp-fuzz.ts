import net from 'node:net';
import { FrameDecoder, NONCE_BYTES, PROOF_BYTES, encodeFrameBytes, type Message } from '@tfjs-ddp/protocol';
import { badFrame } from './frame-mutations.js';
import type { Prng } from './prng.js';
import { protocolSamples, type Sample } from './protocol-samples.js';

/**
 * Fuzz connections to a peer-link port (a `ProcessGroupListener`: raw TCP, the
 * protocol's stream framing). A stranger may say anything; what it must get is a close
 * — after an `abort` carrying a code when its hello or proof was refused (the handshake
 * tells a refused dialer why) — and never a link.
 */
export type PeerExpectation = 'close' | 'abort';

export interface PeerCase {
  readonly index: number;
  /** Which rank's port. */
  readonly target: number;
  readonly label: string;
  readonly bytes: Buffer;
  readonly frames: number;
  readonly expect: PeerExpectation;
}

export interface TcpOutcome {
  readonly frames: Message[];
  /** Bytes from the peer that did not decode (a bug on its side). */
  readonly decodeError: string | undefined;
  /** The peer closed the connection (we never do, except at the deadline). */
  readonly closedByPeer: boolean;
  /** Nobody listens there any more (the group formed and closed its listener). */
  readonly refused: boolean;
  /** Reset before a single byte came back: a connection caught in the backlog of a listener that closed. */
  readonly resetUnanswered: boolean;
  readonly timedOut: boolean;
  readonly ms: number;
}

/** Connects, writes `bytes` without closing our side, and reads frames until the peer closes. */
export function tcpExchange(options: { host: string; port: number; bytes: Uint8Array; timeoutMs: number }): Promise<TcpOutcome> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const frames: Message[] = [];
    let decodeError: string | undefined;
    let refused = false;
    let reset = false;
    let timedOut = false;
    const decoder = new FrameDecoder({ payloadTarget: () => undefined, frame: (m) => frames.push(m) });
    const socket = net.connect({ host: options.host, port: options.port });
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, options.timeoutMs);
    socket.on('connect', () => socket.write(options.bytes));
    socket.on('data', (chunk: Buffer) => {
      if (decodeError !== undefined) return;
      try {
        decoder.push(chunk);
      } catch (err) {
        decodeError = (err as Error).message;
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') refused = true;
      if (err.code === 'ECONNRESET' && frames.length === 0) reset = true;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ frames, decodeError, closedByPeer: !timedOut && !refused, refused, resetUnanswered: reset, timedOut, ms: Date.now() - t0 });
    });
  });
}

export interface PeerIdentity {
  readonly group: string;
  readonly size: number;
}

function hello(prng: Prng, id: PeerIdentity, from: number, to: number, over: { group?: string; size?: number; localSizes?: number[] } = {}): Buffer {
  const size = over.size ?? id.size;
  const message: Message = {
    v: 2,
    t: 'hello',
    group: over.group ?? id.group,
    from,
    to,
    size,
    localSizes: over.localSizes ?? Array.from({ length: size }, () => 1),
    nonce: prng.bytes(NONCE_BYTES),
  };
  return encodeFrameBytes(message);
}

function auth(prng: Prng): Buffer {
  return encodeFrameBytes({ v: 2, t: 'auth', proof: prng.bytes(PROOF_BYTES) });
}

/** `count` cases spread over the `targets` ranks of a group `id`. */
export function peerCases(prng: Prng, count: number, id: PeerIdentity, targets: readonly number[]): PeerCase[] {
  const samples: Sample[] = protocolSamples(prng, { token: 'not-a-worker', jobId: '' });
  const helloSample = samples.find((s) => s.message.t === 'hello') as Sample;
  const cases: PeerCase[] = [];
  for (let index = 0; index < count; index++) {
    const target = prng.pick(targets);
    const others = Array.from({ length: id.size }, (_, r) => r).filter((r) => r !== target);
    const from = prng.pick(others);
    const roll = prng.next();
    const push = (label: string, parts: Buffer[], expect: PeerExpectation): void => {
      cases.push({ index, target, label, bytes: Buffer.concat(parts), frames: parts.length, expect });
    };
    if (roll < 0.2) {
      // A well-formed hello for a real rank of this group, then a proof made without the secret.
      push('hello+wrong-proof', [hello(prng, id, from, target), auth(prng)], 'abort');
    } else if (roll < 0.3) {
      const [what, parts] = prng.pick<readonly [string, Buffer]>([
        ['group', hello(prng, id, from, target, { group: prng.pick(['', 'other-job', id.group.toUpperCase(), `${id.group}x`, 'g'.repeat(prng.range(600, 1024))]) })],
        ['size', hello(prng, id, from, target, { size: id.size + prng.range(1, 5) })],
        ['to', hello(prng, id, from, prng.pick(others))],
        ['from-self', hello(prng, id, target, target)],
        ['localSizes', hello(prng, id, from, target, { localSizes: Array.from({ length: id.size }, (_, p) => (p === from ? prng.range(2, 8) : 1)) })],
      ]);
      push(`hello-wrong-${what}`, [parts], 'abort');
    } else if (roll < 0.4) {
      push('hello+garbage', [hello(prng, id, from, target), badFrame(prng, samples).bytes], 'close');
    } else if (roll < 0.5) {
      const bad = badFrame(prng, [helloSample]);
      push(`hello-${bad.label}`, [bad.bytes], 'close');
    } else if (roll < 0.6) {
      const s = prng.pick(samples.filter((x) => x.message.t !== 'hello'));
      push(`first-${s.message.t}`, [encodeFrameBytes(s.message, s.payload)], 'close');
    } else if (roll < 0.997) {
      const bad = badFrame(prng, samples);
      push(bad.label, [bad.bytes], 'close');
    } else {
      // Nothing, or half a frame: only the handshake deadline ends these.
      push('silent', [prng.chance(0.5) ? Buffer.alloc(0) : hello(prng, id, from, target).subarray(0, 5)], 'close');
    }
  }
  return cases;
}

export interface PeerFuzzTally {
  connections: number;
  frames: number;
  /** Connections the listener took and then closed. */
  closes: number;
  /** Abort frames received, by code. */
  aborts: Record<string, number>;
  /** Hello/auth answers received (a stranger with a good hello gets the acceptor's half of the handshake). */
  handshakeReplies: number;
  /** Connections refused by the OS: the listener had already closed (the group was formed). */
  listenerClosed: number;
  /** Connections reset before any answer (caught in the backlog as the listener closed). */
  resetUnanswered: number;
  failures: Array<{ index: number; target: number; label: string; problem: string; head: string }>;
  closeMs: { max: number };
}

/** What a case got back; a problem is a bug (or a case the fuzzer judged wrongly). */
export function judgePeer(c: PeerCase, o: TcpOutcome): string | undefined {
  if (o.refused || o.resetUnanswered) return undefined;
  if (o.timedOut) return `not closed within the deadline (${o.frames.map((f) => f.t).join(',') || 'no frames'})`;
  if (o.decodeError !== undefined) return `the listener sent bytes that do not decode: ${o.decodeError}`;
  if (o.frames.some((f) => f.t === 'ready')) return 'a stranger got a ready: the link was accepted';
  const abort = o.frames.find((f) => f.t === 'abort');
  if (abort !== undefined && (abort.t !== 'abort' || !abort.code.startsWith('COLL_ERR_'))) return `abort without a collective error code: ${JSON.stringify(abort)}`;
  if (c.expect === 'abort' && abort === undefined) return `refused without an abort telling why (frames: ${o.frames.map((f) => f.t).join(',') || 'none'})`;
  return undefined;
}

/** Runs the cases, `concurrency` connections per target at a time, each allowed `timeoutMs`. */
export async function runPeerFuzz(ports: readonly number[], cases: readonly PeerCase[], options: { concurrency: number; timeoutMs: number; onCase?: (done: number) => void }): Promise<PeerFuzzTally> {
  const tally: PeerFuzzTally = { connections: 0, frames: 0, closes: 0, aborts: {}, handshakeReplies: 0, listenerClosed: 0, resetUnanswered: 0, failures: [], closeMs: { max: 0 } };
  const byTarget = new Map<number, PeerCase[]>();
  for (const c of cases) byTarget.set(c.target, [...(byTarget.get(c.target) ?? []), c]);
  const lane = async (queue: PeerCase[]): Promise<void> => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
      const port = ports[c.target];
      if (port === undefined) throw new RangeError(`no port for rank ${c.target}`);
      const outcome = await tcpExchange({ host: '127.0.0.1', port, bytes: c.bytes, timeoutMs: options.timeoutMs });
      tally.connections++;
      tally.frames += c.frames;
      if (outcome.refused) tally.listenerClosed++;
      if (outcome.resetUnanswered) tally.resetUnanswered++;
      if (outcome.closedByPeer) {
        tally.closes++;
        tally.closeMs.max = Math.max(tally.closeMs.max, outcome.ms);
      }
      for (const f of outcome.frames) {
        if (f.t === 'abort') tally.aborts[f.code] = (tally.aborts[f.code] ?? 0) + 1;
        else if (f.t === 'hello' || f.t === 'auth') tally.handshakeReplies++;
      }
      const problem = judgePeer(c, outcome);
      if (problem !== undefined) tally.failures.push({ index: c.index, target: c.target, label: c.label, problem, head: c.bytes.subarray(0, 48).toString('hex') });
      options.onCase?.(tally.connections);
    }
  };
  await Promise.all([...byTarget.values()].flatMap((queue) => Array.from({ length: options.concurrency }, () => lane(queue))));
  return tally;
}
