import { FRAME_PREFIX_BYTES, encodeFrameBytes } from '@tfjs-ddp/protocol';
import type { Prng } from './prng.js';
import { assembleFrame, packr, rawMap, type Sample } from './protocol-samples.js';

/**
 * Bad protocol frames (the bytes of one WebSocket message or one stretch of a TCP
 * stream), made by mutating valid frames of the protocol's own types, plus random
 * bytes and odd msgpack. `label` names the mutation so a failure says what was sent.
 */
export interface BadFrame {
  readonly label: string;
  readonly bytes: Buffer;
}

type Header = Record<string, unknown>;

/** Values of every msgpack type, including ones no validator should take for anything. */
export function oddValue(prng: Prng): unknown {
  const choices: Array<() => unknown> = [
    () => -1,
    () => 0,
    () => 1.5,
    () => 2 ** 31,
    () => 2 ** 32 + 1,
    () => 2 ** 53 + 2,
    () => BigInt(-2) ** BigInt(63),
    () => Number.NaN,
    () => Number.POSITIVE_INFINITY,
    () => Number.NEGATIVE_INFINITY,
    () => -0,
    () => prng.chance(0.5),
    () => null,
    () => '',
    () => 'x',
    () => '\u0000\uffff\ud800',
    () => 'y'.repeat(prng.range(1000, 6000)),
    () => [],
    () => [1, 'a', null],
    () => Array.from({ length: prng.range(50, 400) }, () => 'zz'.repeat(prng.range(1, 8))),
    () => ({}),
    () => ({ a: 1, b: [2] }),
    () => prng.bytes(prng.range(0, 64)),
    () => new Date(prng.int(2 ** 31) * 1000),
  ];
  return prng.pick(choices)();
}

function headerOf(sample: Sample): Header {
  return { ...sample.message } as Header;
}

function keysOf(h: Header): string[] {
  return Object.keys(h);
}

function frameFrom(h: Header, payload: Uint8Array): Buffer {
  return assembleFrame(packr.pack(h), payload);
}

/** A header nested `depth` arrays deep (msgpackr decodes recursively). */
function deepArray(depth: number): Buffer {
  return Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0xc0])]);
}

const MUTATORS: ReadonlyArray<readonly [string, (prng: Prng, s: Sample) => Buffer]> = [
  ['wrong-state', (_p, s) => encodeFrameBytes(s.message, s.payload)],
  ['version', (p, s) => frameFrom({ ...headerOf(s), v: p.pick<unknown>([0, 2, 99, -1, 1.5, '1', null, true, [1], { v: 2 }]) }, s.payload)],
  ['version-odd', (p, s) => frameFrom({ ...headerOf(s), v: oddValue(p) }, s.payload)],
  ['no-version', (_p, s) => frameFrom(omit(headerOf(s), 'v'), s.payload)],
  ['type', (p, s) => frameFrom({ ...headerOf(s), t: p.pick<unknown>(['', 'JOIN', 'joinx', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 7, null, ['join']]) }, s.payload)],
  ['type-odd', (p, s) => frameFrom({ ...headerOf(s), t: oddValue(p) }, s.payload)],
  [
    'field-type',
    (p, s) => {
      const h = headerOf(s);
      const keys = keysOf(h).filter((k) => k !== 'v' && k !== 't');
      if (keys.length === 0) return frameFrom({ ...h, extra: oddValue(p) }, s.payload);
      return frameFrom({ ...h, [p.pick(keys)]: oddValue(p) }, s.payload);
    },
  ],
  [
    'field-missing',
    (p, s) => {
      const h = headerOf(s);
      const keys = keysOf(h).filter((k) => k !== 'v' && k !== 't');
      return frameFrom(keys.length === 0 ? omit(h, 't') : omit(h, p.pick(keys)), s.payload);
    },
  ],
  ['field-unknown', (p, s) => frameFrom({ ...headerOf(s), [p.pick(['x', '', 'V', 'tt', 'constructor', 'k'.repeat(p.range(1, 3000))])]: oddValue(p) }, s.payload)],
  ['proto-key', (_p, s) => Buffer.concat([prefixFor(rawMap([...Object.entries(headerOf(s)), ['__proto__', { v: 2, t: 'join' }]]), s.payload), s.payload])],
  ['duplicate-key', (p, s) => Buffer.concat([prefixFor(rawMap([...Object.entries(headerOf(s)), [p.pick(['v', 't', ...keysOf(headerOf(s))]), oddValue(p)]]), s.payload), s.payload])],
  ['non-string-key', (p, s) => Buffer.concat([prefixFor(rawMap([...Object.entries(headerOf(s)), [p.pick([1, -1, null, true, 1.5, [1], p.bytes(3)]), 1]]), s.payload), s.payload])],
  ['nested', (p, s) => frameFrom(mutateNested(p, headerOf(s)), s.payload)],
  [
    'payload-length',
    (p, s) => {
      const delta = p.pick([-4, -1, 1, 3, 4, 1024, 65536]);
      const payload = delta < 0 ? s.payload.subarray(0, Math.max(0, s.payload.byteLength + delta)) : Buffer.concat([s.payload, p.bytes(delta)]);
      return assembleFrame(packr.pack(headerOf(s)), payload);
    },
  ],
  ['prefix-header-lie', (p, s) => assembleFrame(packr.pack(headerOf(s)), s.payload, { headerBytes: p.u32() })],
  ['prefix-payload-lie', (p, s) => assembleFrame(packr.pack(headerOf(s)), s.payload, { payloadBytes: p.u32() })],
  ['prefix-both-lie', (p, s) => assembleFrame(packr.pack(headerOf(s)), s.payload, { headerBytes: p.u32(), payloadBytes: p.u32() })],
  [
    'truncated',
    (p, s) => {
      const whole = encodeFrameBytes(s.message, s.payload);
      return whole.subarray(0, p.int(whole.length));
    },
  ],
  ['trailing-garbage', (p, s) => Buffer.concat([encodeFrameBytes(s.message, s.payload), p.bytes(p.range(1, 64))])],
  ['leading-garbage', (p, s) => Buffer.concat([p.bytes(p.range(1, 16)), encodeFrameBytes(s.message, s.payload)])],
  [
    'bit-flips',
    (p, s) => {
      const whole = Buffer.from(encodeFrameBytes(s.message, s.payload));
      const flips = p.range(1, 8);
      for (let i = 0; i < flips; i++) {
        const at = p.int(whole.length);
        whole[at] = (whole[at] as number) ^ (1 << p.int(8));
      }
      return whole;
    },
  ],
  [
    'byte-splice',
    (p, s) => {
      const whole = encodeFrameBytes(s.message, s.payload);
      const at = p.int(whole.length);
      return Buffer.concat([whole.subarray(0, at), p.bytes(p.range(1, 8)), whole.subarray(at + p.range(0, 8))]);
    },
  ],
];

/** Frames that do not start from a sample. */
const FROM_NOTHING: ReadonlyArray<readonly [string, (prng: Prng) => Buffer]> = [
  ['random-bytes', (p) => p.bytes(p.pick([0, 1, 7, 8, 9, 16, p.range(0, 4096)]))],
  ['zero-prefix', () => Buffer.alloc(FRAME_PREFIX_BYTES)],
  ['header-not-map', (p) => assembleFrame(packr.pack(p.pick<unknown>([1, 'join', null, [1, 'join'], true, 1.5])), new Uint8Array(0))],
  ['header-bytes', (p) => assembleFrame(packr.pack(p.bytes(p.range(0, 100))), new Uint8Array(0))],
  ['deep-nesting', (p) => assembleFrame(deepArray(p.range(1000, 16000)), new Uint8Array(0))],
  ['msgpack-ext', (p) => assembleFrame(Buffer.concat([Buffer.from([0xd6, p.range(0, 127)]), p.bytes(4)]), new Uint8Array(0))],
  ['msgpack-reserved', () => assembleFrame(Buffer.from([0xc1]), new Uint8Array(0))],
  ['msgpack-two-values', () => assembleFrame(Buffer.concat([packr.pack({ v: 2, t: 'bye' }), packr.pack({ v: 2, t: 'bye' })]), new Uint8Array(0))],
  ['msgpack-short-map', () => assembleFrame(Buffer.from([0xde, 0xff, 0xff, 0xa1, 0x76]), new Uint8Array(0))],
  ['msgpack-huge-str', () => assembleFrame(Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xf0, 0x61]), new Uint8Array(0))],
  ['big-header', (p) => frameFrom({ v: 2, t: 'join', token: 'q'.repeat(p.range(15_000, 16_300)) }, new Uint8Array(0))],
  ['too-big-header', (p) => frameFrom({ v: 2, t: 'join', token: 'q'.repeat(p.range(16_400, 40_000)) }, new Uint8Array(0))],
  ['big-payload', (p) => assembleFrame(packr.pack({ v: 2, t: 'bye' }), p.bytes(p.range(30_000, 150_000)))],
];

function omit(h: Header, key: string): Header {
  const copy = { ...h };
  delete copy[key];
  return copy;
}

function prefixFor(header: Buffer, payload: Uint8Array): Buffer {
  return assembleFrame(header, payload).subarray(0, FRAME_PREFIX_BYTES + header.length);
}

/** Breaks something inside a list or map field (peers, reports, counts, shapes, config). */
function mutateNested(p: Prng, h: Header): Header {
  const nested = Object.entries(h).filter(([, value]) => typeof value === 'object' && value !== null && !(value instanceof Uint8Array));
  if (nested.length === 0) return { ...h, [p.pick(['counts', 'peers', 'config'])]: oddValue(p) };
  const [key, value] = p.pick(nested);
  if (Array.isArray(value)) {
    const list = [...(value as unknown[])];
    if (list.length > 0 && p.chance(0.5) && typeof list[0] === 'object' && list[0] !== null) {
      const first = { ...(list[0] as Header) };
      const inner = Object.keys(first);
      first[inner.length > 0 && p.chance(0.8) ? p.pick(inner) : 'extra'] = oddValue(p);
      list[0] = first;
    } else if (p.chance(0.3)) {
      return { ...h, [key]: Array.from({ length: p.pick([32, 5000, 20_000]) }, () => list[0] ?? 1) };
    } else list[p.int(list.length + 1)] = oddValue(p);
    return { ...h, [key]: list };
  }
  const map = { ...(value as Header) };
  const inner = Object.keys(map);
  map[inner.length > 0 && p.chance(0.8) ? p.pick(inner) : 'extra'] = oddValue(p);
  return { ...h, [key]: map };
}

/** One bad frame: mostly mutations of `samples`, sometimes bytes from nowhere. */
export function badFrame(prng: Prng, samples: readonly Sample[]): BadFrame {
  if (prng.chance(0.15)) {
    const [label, make] = prng.pick(FROM_NOTHING);
    return { label, bytes: make(prng) };
  }
  const sample = prng.pick(samples);
  const [label, mutate] = prng.pick(MUTATORS);
  return { label: `${label}:${sample.message.t}`, bytes: mutate(prng, sample) };
}
