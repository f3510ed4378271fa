import { decodeFrameBytes, encodeFrameBytes } from '@tfjs-ddp/protocol';
import { badFrame } from './frame-mutations.js';
import type { Prng } from './prng.js';
import { protocolSamples, type Sample } from './protocol-samples.js';
import { OPCODE, wsExchange, wsFrame, type WsOutcome } from './raw-ws.js';

/**
 * Fuzz connections to the coordinator's WebSocket port. Each case is one connection: the
 * bytes written after the upgrade (one or more WebSocket messages) and what must come
 * back: `refuse` — a refuse or fail frame carrying a code, then a close; `ws-close` — the
 * WebSocket layer's own close code (1002 protocol error, 1007 bad UTF-8, 1009 too big)
 * for bytes that never become a message the coordinator sees.
 */
export type Expectation = 'refuse' | 'ws-close';

export interface WsCase {
  readonly index: number;
  readonly label: string;
  readonly bytes: Buffer;
  /** WebSocket messages (protocol frames, good or bad) in `bytes`. */
  readonly frames: number;
  readonly expect: Expectation;
}

/** The WebSocket close codes of a receiver that refuses a frame before the application sees it. */
export const WS_REFUSAL_CODES: readonly number[] = [1002, 1007, 1009];

/** The coordinator's own WebSocket message limit: header limit + payload limit + prefix. */
const WS_MAX_PAYLOAD = 256 * 1024 * 1024 + 16 * 1024 + 8;
/** Before a connection is admitted its messages may be at most one header-only frame; a bigger one is closed 1009. */
const PRE_ADMISSION_MAX_PAYLOAD = 16 * 1024 + 8;

/** A case whose first message is past the pre-admission limit is closed by the WebSocket layer (1009), not refused. */
function sized(c: WsCase, firstMessageBytes: number): WsCase {
  return c.expect === 'refuse' && firstMessageBytes > PRE_ADMISSION_MAX_PAYLOAD ? { ...c, label: `too-big/${c.label}`, expect: 'ws-close' } : c;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch (err) {
    if (err instanceof TypeError) return false;
    throw err;
  }
}

function binary(bytes: Uint8Array): Buffer {
  return wsFrame({ opcode: OPCODE.binary, payload: bytes });
}

function fragmented(prng: Prng, bytes: Buffer): Buffer {
  const parts = prng.range(2, 4);
  const cuts = Array.from({ length: parts - 1 }, () => prng.int(bytes.length + 1)).sort((a, b) => a - b);
  const bounds = [0, ...cuts, bytes.length];
  return Buffer.concat(
    bounds.slice(0, -1).map((from, i) => wsFrame({ opcode: i === 0 ? OPCODE.binary : OPCODE.continuation, fin: i === parts - 1, payload: bytes.subarray(from, bounds[i + 1]) })),
  );
}

/** Violations of RFC 6455 itself: the `ws` receiver closes before any message exists. */
const WS_VIOLATIONS: ReadonlyArray<readonly [string, (prng: Prng, frame: Buffer) => Buffer]> = [
  ['ws-oversize', (p) => wsFrame({ opcode: OPCODE.binary, payload: p.bytes(16), declaredLength: p.pick([WS_MAX_PAYLOAD + 1, 2 ** 32, 2 ** 40, 2 ** 53 - 1]) })],
  ['ws-unmasked', (_p, frame) => wsFrame({ opcode: OPCODE.binary, payload: frame, masked: false })],
  ['ws-reserved-opcode', (p, frame) => wsFrame({ opcode: p.pick([3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]), payload: frame })],
  ['ws-rsv-bits', (p, frame) => wsFrame({ opcode: OPCODE.binary, payload: frame, rsv: p.range(1, 7) })],
  ['ws-orphan-continuation', (_p, frame) => wsFrame({ opcode: OPCODE.continuation, payload: frame })],
  ['ws-fragmented-ping', (p) => wsFrame({ opcode: OPCODE.ping, fin: false, payload: p.bytes(4) })],
  ['ws-long-ping', (p) => wsFrame({ opcode: OPCODE.ping, payload: p.bytes(p.range(126, 300)) })],
  ['ws-interleaved', (_p, frame) => Buffer.concat([wsFrame({ opcode: OPCODE.binary, fin: false, payload: frame.subarray(0, 4) }), wsFrame({ opcode: OPCODE.binary, payload: frame })])],
  ['ws-bad-close-code', (p) => wsFrame({ opcode: OPCODE.close, payload: Buffer.from([p.pick([0x03, 0x00]), p.pick([0xed, 0x00, 0x01])]) })],
];

/**
 * `count` cases from `prng`. None is admissible: joins carry a wrong token, or the right
 * token (`rightToken`) with another job's id — a fuzz connection must never become a worker.
 */
export function wsCases(prng: Prng, count: number, join: { wrongToken: string; rightToken: string; otherJobId: string }): WsCase[] {
  const samples: Sample[] = protocolSamples(prng, { token: join.wrongToken, jobId: '' });
  const cases: WsCase[] = [];
  for (let index = 0; index < count; index++) {
    const roll = prng.next();
    const bad = badFrame(prng, samples);
    if (roll < 0.8) {
      cases.push(sized({ index, label: bad.label, bytes: binary(bad.bytes), frames: 1, expect: 'refuse' }, bad.bytes.length));
    } else if (roll < 0.84) {
      cases.push(sized({ index, label: `fragmented/${bad.label}`, bytes: fragmented(prng, bad.bytes), frames: 1, expect: 'refuse' }, bad.bytes.length));
    } else if (roll < 0.88) {
      const text = prng.chance(0.3) ? Buffer.from(JSON.stringify({ v: 2, t: 'join', token: join.wrongToken })) : bad.bytes;
      cases.push(sized({ index, label: `text/${bad.label}`, bytes: wsFrame({ opcode: OPCODE.text, payload: text }), frames: 1, expect: isUtf8(text) ? 'refuse' : 'ws-close' }, text.length));
    } else if (roll < 0.9) {
      cases.push(sized({ index, label: `after-ping/${bad.label}`, bytes: Buffer.concat([wsFrame({ opcode: OPCODE.ping, payload: prng.bytes(8) }), binary(bad.bytes)]), frames: 1, expect: 'refuse' }, bad.bytes.length));
    } else if (roll < 0.93) {
      // Frames behind a bad one, in the same write: whatever they are, only the first is answered.
      const more = Array.from({ length: prng.range(1, 4) }, () => {
        const s = prng.pick(samples);
        return prng.chance(0.5) ? encodeFrameBytes(s.message, s.payload) : badFrame(prng, samples).bytes;
      });
      cases.push(sized({ index, label: `pipelined/${bad.label}+${more.length}`, bytes: Buffer.concat([bad.bytes, ...more].map(binary)), frames: 1 + more.length, expect: 'refuse' }, bad.bytes.length));
    } else if (roll < 0.94) {
      const jobId = prng.chance(0.8) ? join.otherJobId : 'j'.repeat(prng.range(900, 1024));
      const frame = encodeFrameBytes({ v: 2, t: 'join', token: join.rightToken, jobId, host: '127.0.0.1', peerPort: 4000, threads: 1, backend: 'wasm', pid: 1 });
      cases.push({ index, label: `join-other-job/${jobId.length}`, bytes: binary(frame), frames: 1, expect: 'refuse' });
    } else if (roll < 0.998) {
      const [label, make] = prng.pick(WS_VIOLATIONS);
      cases.push({ index, label, bytes: make(prng, bad.bytes), frames: 1, expect: 'ws-close' });
    } else {
      // Nothing, or half a WebSocket frame: only the coordinator's handshake deadline ends these.
      const bytes = prng.chance(0.5) ? Buffer.alloc(0) : binary(bad.bytes).subarray(0, 1);
      cases.push({ index, label: 'silent', bytes, frames: 0, expect: 'refuse' });
    }
  }
  return cases;
}

export interface WsFuzzFailure {
  readonly index: number;
  readonly label: string;
  readonly problem: string;
  /** The first bytes sent, hex, to rebuild the case by hand. */
  readonly head: string;
}

export interface WsFuzzTally {
  connections: number;
  frames: number;
  /** Refuse/fail frames received, by code. */
  answered: Record<string, number>;
  /** WebSocket-level refusals (no message), by close code. */
  wsClosed: Record<string, number>;
  /** Connections the server closed (close frame, then the TCP connection). */
  closes: number;
  failures: WsFuzzFailure[];
  durationMs: number;
}

/** What a case got back; a problem is a bug (or a case the fuzzer judged wrongly). */
export function judge(c: WsCase, o: WsOutcome): { key: string; bucket: 'answered' | 'wsClosed' } | { problem: string } {
  if (o.status !== 101) return { problem: o.status === undefined ? `no upgrade answer (${o.error ?? (o.timedOut ? 'timed out' : 'closed')})` : `upgrade answered HTTP ${o.status}` };
  if (o.timedOut) return { problem: `no close within the deadline (${o.messages.length} message(s), close code ${String(o.closeCode)})` };
  if (c.expect === 'ws-close') {
    if (o.messages.length > 0) return { problem: `expected a WebSocket-level close, got ${o.messages.length} message(s)` };
    if (o.closeCode === undefined || !WS_REFUSAL_CODES.includes(o.closeCode)) return { problem: `closed with ${String(o.closeCode)}, not one of ${WS_REFUSAL_CODES.join('/')}` };
    return { key: String(o.closeCode), bucket: 'wsClosed' };
  }
  const first = o.messages[0];
  if (first === undefined) return { problem: `closed (${String(o.closeCode)}) without a refuse or fail frame` };
  if (o.messages.length > 1) return { problem: `${o.messages.length} answers to one connection` };
  let code: string;
  try {
    const { message } = decodeFrameBytes(first);
    if (message.t !== 'refuse' && message.t !== 'fail') return { problem: `answered with ${message.t}` };
    code = message.code;
  } catch (err) {
    return { problem: `answer does not decode: ${(err as Error).message}` };
  }
  if (code === '') return { problem: 'refused without a code' };
  if (o.closeCode === undefined) return { problem: `refused (${code}) but no close frame followed` };
  return { key: code, bucket: 'answered' };
}

/**
 * Runs `cases` against host:port, `concurrency` connections at a time (well under the
 * coordinator's limit of 256 open connections), each allowed `timeoutMs`.
 */
export async function runWsFuzz(target: { host: string; port: number; token?: string }, cases: readonly WsCase[], options: { concurrency: number; timeoutMs: number; onCase?: (done: number) => void }): Promise<WsFuzzTally> {
  const tally: WsFuzzTally = { connections: 0, frames: 0, answered: {}, wsClosed: {}, closes: 0, failures: [], durationMs: 0 };
  const started = Date.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const c = cases[next++];
      if (c === undefined) return;
      const outcome = await wsExchange({ host: target.host, port: target.port, bytes: c.bytes, timeoutMs: options.timeoutMs, ...(target.token === undefined ? {} : { token: target.token }) });
      tally.connections++;
      tally.frames += c.frames;
      if (outcome.closeCode !== undefined && outcome.closed) tally.closes++;
      const verdict = judge(c, outcome);
      if ('problem' in verdict) tally.failures.push({ index: c.index, label: c.label, problem: verdict.problem, head: c.bytes.subarray(0, 48).toString('hex') });
      else tally[verdict.bucket][verdict.key] = (tally[verdict.bucket][verdict.key] ?? 0) + 1;
      options.onCase?.(tally.connections);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  tally.durationMs = Date.now() - started;
  return tally;
}
