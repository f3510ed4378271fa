import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import { isProtocolError } from './errors.js';
import { decodeHeader } from './frame.js';
import { scanMsgpack } from './msgpack-scan.js';
import { previewValue } from './preview.js';

/** Structure-aware msgpack fuzz at the one decoder every frame goes through (issue 13 item 3). */
const JOIN = { v: 2, t: 'join', token: 't', jobId: '', host: 'h', peerPort: 1, threads: 1, backend: 'auto', pid: 1 };
const SEED = Number(process.env['TFJS_DDP_FUZZ_SEED'] ?? (Date.now() % 0xffffffff));

function refusedAsDecode(bytes: Uint8Array, what: string): void {
  const started = performance.now();
  assert.throws(() => decodeHeader(bytes, 0), (err: unknown) => isProtocolError(err) && err.code === 'PROTOCOL_ERR_DECODE', what);
  assert.ok(performance.now() - started < 500, `${what}: refusing took ${Math.round(performance.now() - started)} ms`);
}

/** `{v:1, t:'join', x: <value>}` with the value's bytes given raw. */
function withValue(raw: Uint8Array): Uint8Array {
  const head = new Packr({ useRecords: false }).pack({ v: 2, t: 'join' });
  const out = Buffer.concat([head, Buffer.from([0xa1, 0x78]), raw]);
  out[0] = 0x83;
  return out;
}

test('every extension type code 0..255 in every ext form is refused with PROTOCOL_ERR_DECODE', () => {
  for (let type = 0; type < 256; type++) {
    const forms: Array<[string, Uint8Array]> = [
      ['fixext1', Uint8Array.from([0xd4, type, 0])],
      ['fixext2', Uint8Array.from([0xd5, type, 0, 0])],
      ['fixext4', Uint8Array.from([0xd6, type, 0, 0, 0, 0])],
      ['fixext8', Uint8Array.from([0xd7, type, ...new Array<number>(8).fill(0)])],
      ['fixext16', Uint8Array.from([0xd8, type, ...new Array<number>(16).fill(0)])],
      ['ext8', Uint8Array.from([0xc7, 1, type, 0])],
      ['ext16', Uint8Array.from([0xc8, 0, 1, type, 0])],
      ['ext32', Uint8Array.from([0xc9, 0, 0, 0, 1, type, 0])],
    ];
    for (const [form, raw] of forms) {
      refusedAsDecode(raw, `${form} type ${type} alone`);
      refusedAsDecode(withValue(raw), `${form} type ${type} as a field`);
    }
  }
});

test('the ~400-byte shared-reference DAG (0x69 id / 0x70 pointer) is refused at once', () => {
  // An array of levels, each an array holding the previous level twice by reference: the
  // last unfolds to 2^levels leaves. msgpackr itself JSON-stringifies a value it read when
  // bytes follow it, so a trailing byte is enough to make it walk the DAG.
  const dagOf = (levels: number): Buffer => {
    const parts: number[] = [0xdc, 0, levels, 0xd6, 0x69, 0, 0, 0, 0, 0x92, 0xa1, 0x78, 0xa1, 0x78];
    for (let id = 1; id < levels; id++) parts.push(0xd6, 0x69, 0, 0, 0, id, 0x92, 0xd6, 0x70, 0, 0, 0, id - 1, 0xd6, 0x70, 0, 0, 0, id - 1);
    return Buffer.from(parts);
  };
  const dag = dagOf(21);
  assert.ok(dag.byteLength < 450);
  refusedAsDecode(dag, 'the DAG alone');
  refusedAsDecode(withValue(dag), 'the DAG as a field');
  refusedAsDecode(Buffer.concat([dag, Buffer.from([0xc0])]), 'the DAG with a trailing byte');
  // As the version: the old error message stringified the version whole.
  refusedAsDecode(Buffer.concat([Buffer.from([0x82, 0xa1, 0x74, 0xa4, ...Buffer.from('join'), 0xa1, 0x76]), dag]), 'the DAG as the version');
  refusedAsDecode(Uint8Array.from([0xd4, 0x72, 0x40]), 'a record definition');
  refusedAsDecode(Uint8Array.from([0xd6, 0x70, 0, 0, 0, 0]), 'a dangling pointer');
});

test('huge declared lengths (array32/map32/str32/bin32 and 16-bit forms) are refused before any allocation', () => {
  for (const b of [0xdd, 0xdf, 0xdb, 0xc6]) {
    for (const n of [0xffffffff, 0x7fffffff, 1 << 24, 100]) {
      const raw = Buffer.alloc(5);
      raw[0] = b;
      raw.writeUInt32BE(n, 1);
      refusedAsDecode(raw, `0x${b.toString(16)} of ${n}`);
      refusedAsDecode(withValue(raw), `0x${b.toString(16)} of ${n} as a field`);
    }
  }
  for (const b of [0xdc, 0xde, 0xda, 0xc5]) refusedAsDecode(Uint8Array.from([b, 0xff, 0xff]), `0x${b.toString(16)} of 65535`);
});

test('deep nesting, trailing bytes, 0xc1 and non-string keys are refused; depth 16 passes the scan', () => {
  for (const depth of [17, 100, 100_000]) refusedAsDecode(Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0xc0])]), `${depth} nested arrays`);
  scanMsgpack(Buffer.concat([Buffer.alloc(16, 0x91), Buffer.from([0xc0])]));
  refusedAsDecode(Buffer.concat([new Packr({ useRecords: false }).pack(JOIN), Buffer.from([0xc0])]), 'trailing nil');
  refusedAsDecode(Uint8Array.from([0xc1]), '0xc1');
  refusedAsDecode(Uint8Array.from([0x81, 0x01, 0x02]), 'integer key');
  refusedAsDecode(Uint8Array.from([0x81, 0x91, 0xa1, 0x61, 0x02]), 'array key');
  refusedAsDecode(Uint8Array.from([]), 'nothing');
});

test('our own messages pass the scan, undefined fields included (written as nil)', () => {
  assert.equal(decodeHeader(new Packr({ useRecords: false }).pack(JOIN), 0).t, 'join');
  scanMsgpack(new Packr({ useRecords: false, encodeUndefinedAsNil: true }).pack({ a: undefined, b: [1, { c: 'x' }], d: 1.5, e: 2 ** 40, f: -3, g: Buffer.alloc(3) }));
});

test(`random mutations of good headers never throw anything but a ProtocolError and never take long (seed ${SEED})`, (t) => {
  t.diagnostic(`seed ${SEED} (replay: TFJS_DDP_FUZZ_SEED=${SEED})`);
  let state = SEED >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  const good = new Packr({ useRecords: false }).pack({ ...JOIN, extra: [1, { a: [2, 3] }, 'x'.repeat(40)] });
  const started = performance.now();
  for (let i = 0; i < 20_000; i++) {
    const bytes = Buffer.from(good);
    for (let k = 0, n = 1 + Math.floor(next() * 4); k < n; k++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
    try {
      decodeHeader(bytes, 0);
    } catch (err) {
      assert.ok(isProtocolError(err), `case ${i} (${bytes.toString('hex')}) threw ${(err as Error).name}: ${(err as Error).message}`);
    }
  }
  t.diagnostic(`20000 mutated headers in ${Math.round(performance.now() - started)} ms`);
});

test('previewValue is bounded whatever the value: huge, deep, shared', () => {
  const shared: unknown[] = ['x', 'x'];
  let dag: unknown = shared;
  for (let i = 0; i < 60; i++) dag = [dag, dag];
  for (const v of [dag, 'y'.repeat(1e6), new Array(1e6).fill(1), { a: { b: { c: { d: 1 } } } }, new Uint8Array(1e6), 10n ** 30n]) {
    const started = performance.now();
    const text = previewValue(v, 64);
    assert.ok(text.length <= 64, `${text.length} characters`);
    assert.ok(performance.now() - started < 500, "a bounded walk, not one over the whole value");
  }
  assert.equal(previewValue({ a: 1, b: 'c' }), '{"a":1,"b":"c"}');
});
