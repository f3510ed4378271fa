import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import { bytesOf } from './dtypes.js';
import { FRAME_PREFIX_BYTES, encodeFrame, encodeFrameBytes } from './frame.js';
import { FrameDecoder } from './frame-decoder.js';
import type { FrameSink } from './frame-decoder.js';
import type { DataMessage, Message } from './messages.js';

function collector(target?: Uint8Array): { sink: FrameSink; frames: Array<[Message, Uint8Array]>; progress: number[] } {
  const frames: Array<[Message, Uint8Array]> = [];
  const progress: number[] = [];
  return {
    frames,
    progress,
    sink: {
      payloadTarget: () => target,
      payloadProgress: (_m, filled) => progress.push(filled),
      frame: (m, p) => frames.push([m, p])
    }
  };
}

function dataMessage(n: number): DataMessage {
  return { v: 2, t: 'data', g: 'world', s: 1, i: 0, off: 0, n, dt: 'float32' };
}

function errCode(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? 'no code';
  }
  return 'no error';
}

test('frames split at every byte boundary decode to the same messages and payloads', () => {
  const payload = Float32Array.from({ length: 37 }, (_, i) => i * 0.5 - 3);
  const stream = Buffer.concat([
    encodeFrameBytes({ v: 2, t: 'ready' }),
    encodeFrameBytes(dataMessage(37), bytesOf(payload)),
    encodeFrameBytes(dataMessage(0), new Uint8Array(0)),
    encodeFrameBytes({ v: 2, t: 'bye' })
  ]);
  for (const piece of [1, 3, 7, 64, stream.byteLength]) {
    const { sink, frames } = collector();
    const decoder = new FrameDecoder(sink);
    for (let at = 0; at < stream.byteLength; at += piece) decoder.push(stream.subarray(at, at + piece));
    assert.ok(decoder.atBoundary);
    assert.deepEqual(frames.map(([m]) => m.t), ['ready', 'data', 'data', 'bye']);
    const got = frames[1]?.[1] ?? new Uint8Array(0);
    assert.deepEqual(new Float32Array(got.slice().buffer), payload);
    assert.equal(frames[2]?.[1].byteLength, 0);
  }
});

test('payload lands in the sink target, with progress as it arrives', () => {
  const payload = Float32Array.from({ length: 1000 }, (_, i) => i);
  const target = new Uint8Array(4000);
  const { sink, frames, progress } = collector(target);
  const decoder = new FrameDecoder(sink);
  const { head, payload: body } = encodeFrame(dataMessage(1000), bytesOf(payload));
  decoder.push(head);
  for (let at = 0; at < body.byteLength; at += 1024) decoder.push(body.subarray(at, at + 1024));
  assert.deepEqual(progress, [1024, 2048, 3072, 4000]);
  assert.equal(frames[0]?.[1], target);
  assert.deepEqual(new Float32Array(target.buffer), payload);
});

test('oversized lengths are refused from the prefix alone, before any allocation', () => {
  const limits = { maxHeaderBytes: 64, maxPayloadBytes: 1024 };
  const prefix = Buffer.alloc(FRAME_PREFIX_BYTES);
  prefix.writeUInt32LE(65, 0);
  assert.equal(errCode(() => new FrameDecoder(collector().sink, limits).push(prefix)), 'PROTOCOL_ERR_TOO_LARGE');
  prefix.writeUInt32LE(10, 0);
  prefix.writeUInt32LE(0xffffffff, 4);
  assert.equal(errCode(() => new FrameDecoder(collector().sink, limits).push(prefix)), 'PROTOCOL_ERR_TOO_LARGE');
  prefix.writeUInt32LE(0, 0);
  prefix.writeUInt32LE(0, 4);
  assert.equal(errCode(() => new FrameDecoder(collector().sink, limits).push(prefix)), 'PROTOCOL_ERR_DECODE');
  assert.equal(errCode(() => encodeFrame(dataMessage(512), new Uint8Array(2048), limits)), 'PROTOCOL_ERR_TOO_LARGE');
});

test('a prefix that disagrees with the header, or a wrong-sized target, is refused', () => {
  const header = new Packr({ useRecords: false }).pack(dataMessage(4));
  const frame = Buffer.alloc(FRAME_PREFIX_BYTES + header.byteLength + 12);
  frame.writeUInt32LE(header.byteLength, 0);
  frame.writeUInt32LE(12, 4);
  frame.set(header, FRAME_PREFIX_BYTES);
  assert.equal(errCode(() => new FrameDecoder(collector().sink).push(frame)), 'PROTOCOL_ERR_LENGTH');
  const good = encodeFrameBytes(dataMessage(4), new Uint8Array(16));
  assert.equal(errCode(() => new FrameDecoder(collector(new Uint8Array(8)).sink).push(good)), 'PROTOCOL_ERR_LENGTH');
  assert.equal(errCode(() => encodeFrame(dataMessage(4), new Uint8Array(15))), 'PROTOCOL_ERR_LENGTH');
});

test('a decoder that failed refuses further bytes', () => {
  const decoder = new FrameDecoder(collector().sink);
  // A msgpack str8 that claims 5 bytes but holds 1.
  const bad = Buffer.concat([Buffer.alloc(FRAME_PREFIX_BYTES), Buffer.from([0xd9, 0x05, 0x61])]);
  bad.writeUInt32LE(3, 0);
  assert.equal(errCode(() => decoder.push(bad)), 'PROTOCOL_ERR_DECODE');
  assert.equal(errCode(() => decoder.push(encodeFrameBytes({ v: 2, t: 'bye' }))), 'PROTOCOL_ERR_DECODE');
});

test('a payload consumer gets the bytes as they arrive, without a copy by the decoder', () => {
  const payload = Float32Array.from({ length: 300 }, (_, i) => i);
  const got = new Uint8Array(1200);
  const seen: Array<[number, number]> = [];
  const frames: Message[] = [];
  const decoder = new FrameDecoder({
    payloadTarget: () => ({
      consume: (bytes, at) => {
        seen.push([at, bytes.byteLength]);
        got.set(bytes, at);
      }
    }),
    frame: (m, p) => {
      frames.push(m);
      assert.equal(p.byteLength, 0);
    }
  });
  const stream = encodeFrameBytes(dataMessage(300), bytesOf(payload));
  for (let at = 0; at < stream.byteLength; at += 333) decoder.push(stream.subarray(at, at + 333));
  assert.equal(frames.length, 1);
  assert.deepEqual(new Float32Array(got.buffer), payload);
  assert.equal(seen.reduce((a, [, n]) => a + n, 0), 1200);
});

test('a stream that ends inside a frame is reported as truncated', () => {
  const decoder = new FrameDecoder(collector().sink);
  const frame = encodeFrameBytes(dataMessage(4), new Uint8Array(16));
  decoder.push(frame.subarray(0, frame.byteLength - 3));
  assert.equal(errCode(() => decoder.end()), 'PROTOCOL_ERR_TRUNCATED');
  decoder.push(frame.subarray(frame.byteLength - 3));
  decoder.end();
});

test('a reader that reads in place (onread) lands payload bytes straight in the target', () => {
  const payload = Float32Array.from({ length: 1000 }, (_, i) => i - 500);
  const target = new Uint8Array(4000);
  const { sink, frames } = collector(target);
  const decoder = new FrameDecoder(sink);
  const { head, payload: body } = encodeFrame(dataMessage(1000), bytesOf(payload));
  decoder.push(head.subarray(0, 5));
  assert.equal(decoder.readTarget(), undefined, 'no target while the header is incomplete');
  decoder.push(head.subarray(5));
  decoder.push(body.subarray(0, 100));
  for (let at = 100; at < body.byteLength; ) {
    const into = decoder.readTarget();
    assert.ok(into && into.buffer === target.buffer, 'reads go into the target');
    const n = Math.min(into.byteLength, 777);
    into.set(body.subarray(at, at + n));
    decoder.wrote(n);
    at += n;
  }
  assert.equal(frames.length, 1);
  assert.deepEqual(new Float32Array(target.buffer), payload);
});

test('limits set between frames apply from the next prefix: a payload over them is refused before any allocation', () => {
  const { sink, frames } = collector();
  const decoder = new FrameDecoder(sink, { maxHeaderBytes: 1024, maxPayloadBytes: 0 });
  decoder.push(encodeFrameBytes({ v: 2, t: 'ready' }));
  assert.equal(frames.length, 1);
  // Only the prefix of a frame declaring 64 MiB: refused on its 8 bytes.
  const prefix = Buffer.alloc(FRAME_PREFIX_BYTES);
  prefix.writeUInt32LE(40, 0);
  prefix.writeUInt32LE(64 * 1024 * 1024, 4);
  assert.equal(errCode(() => decoder.push(prefix)), 'PROTOCOL_ERR_TOO_LARGE');
  const raised = new FrameDecoder(collector().sink, { maxHeaderBytes: 1024, maxPayloadBytes: 0 });
  raised.setLimits({ maxHeaderBytes: 1024, maxPayloadBytes: 1024 });
  raised.push(encodeFrameBytes(dataMessage(4), new Uint8Array(16)));
});

test('with an authenticator, each frame is delivered only after its tag verifies, and sees every byte in order', () => {
  // A toy authenticator: the tag is the byte sum of the frame, mod 256, in one byte.
  let sum = 0;
  const seen: number[] = [];
  const auth = {
    tagBytes: 1,
    update: (b: Uint8Array) => b.forEach((x) => (sum = (sum + x) & 0xff)),
    verify: (tag: Uint8Array) => {
      seen.push(sum);
      const ok = tag[0] === sum;
      sum = 0;
      if (!ok) throw Object.assign(new Error('bad tag'), { code: 'BAD_TAG' });
    }
  };
  const tagged = (bytes: Buffer): Buffer => Buffer.concat([bytes, Buffer.from([bytes.reduce((a, x) => (a + x) & 0xff, 0)])]);
  const payload = Float32Array.from({ length: 33 }, (_, i) => i);
  const one = tagged(encodeFrameBytes(dataMessage(33), new Uint8Array(payload.buffer)));
  const two = tagged(encodeFrameBytes({ v: 2, t: 'bye' }));
  const { sink, frames } = collector();
  const decoder = new FrameDecoder(sink);
  decoder.authenticate(auth);
  const stream = Buffer.concat([one, two]);
  for (let i = 0; i < stream.byteLength; i += 7) decoder.push(stream.subarray(i, i + 7));
  assert.deepEqual(frames.map(([m]) => m.t), ['data', 'bye']);
  assert.equal(seen.length, 2);
  const flipped = Buffer.from(one);
  // A payload byte (the tag is the last byte).
  const at = flipped.byteLength - 10;
  flipped[at] = (flipped[at] as number) ^ 4;
  const broken = new FrameDecoder(collector().sink);
  broken.authenticate(auth);
  assert.equal(errCode(() => broken.push(flipped)), 'BAD_TAG');
});
