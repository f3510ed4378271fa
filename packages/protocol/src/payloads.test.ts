import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isProtocolError } from './errors.js';
import { decodeFrameBytes, encodeFrameBytes } from './frame.js';
import type { Message } from './messages.js';
import { PROTOCOL_VERSION } from './messages.js';
import {
  decodeCheckpointPayload,
  decodeModelPayload,
  decodeStatePayload,
  decodeStepPayload,
  decodeTestSetPayload,
  encodeCheckpointPayload,
  encodeModelPayload,
  encodeStatePayload,
  encodeStepPayload,
  encodeTestSetPayload,
  joinShards,
  sampleSizeOf,
} from './payloads.js';

const v = PROTOCOL_VERSION;

/** mulberry32: the same shapes on every run, many of them. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

function floats(random: (n: number) => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => random(2001) / 7 - 100);
}

function ints(random: (n: number) => number, n: number): Int32Array {
  return Int32Array.from({ length: n }, () => random(1 << 20));
}

/** The payload as the receiver gets it: through a whole frame (validated against the header) at an odd offset. */
function overTheWire(message: Message, parts: Uint8Array[]): Uint8Array {
  const frame = encodeFrameBytes(message, Buffer.concat(parts));
  const shifted = new Uint8Array(frame.byteLength + 1);
  shifted.set(frame, 1);
  const decoded = decodeFrameBytes(shifted.subarray(1));
  assert.deepEqual(decoded.message, message);
  return decoded.payload;
}

function lengthError(error: unknown): boolean {
  return isProtocolError(error) && error.code === 'PROTOCOL_ERR_LENGTH';
}

test('step payload: indices and streamed samples of random shards survive encode -> frame -> decode, cut per rank', () => {
  const random = prng(16);
  for (let trial = 0; trial < 200; trial++) {
    const ranks = 1 + random(5);
    const shards = Array.from({ length: ranks }, () => ints(random, random(8)));
    const sampleSize = trial % 2 === 0 ? 0 : 1 + random(20);
    const { counts, indices } = joinShards(shards);
    const total = indices.length;
    const samples = sampleSize === 0 ? undefined : { x: floats(random, total * sampleSize), y: ints(random, total) };
    const parts = encodeStepPayload(indices, sampleSize, samples);
    const step: Message = { v, t: 'step', generation: 1, step: trial, epoch: 0, globalCount: total, counts, sampleSize };
    const decoded = decodeStepPayload({ counts, sampleSize }, overTheWire(step, parts));
    assert.equal(decoded.length, ranks);
    let offset = 0;
    decoded.forEach((shard, r) => {
      assert.deepEqual(shard.indices, shards[r]);
      const end = offset + counts[r]!;
      if (samples === undefined) assert.equal(shard.samples, undefined);
      else assert.deepEqual(shard.samples, { x: samples.x.slice(offset * sampleSize, end * sampleSize), y: samples.y.slice(offset, end) });
      offset = end;
    });
  }
});

test('test set, state, checkpoint and model payloads of random sizes survive encode -> frame -> decode', () => {
  const random = prng(17);
  for (let trial = 0; trial < 100; trial++) {
    const inputShape = Array.from({ length: 1 + random(3) }, () => 1 + random(6));
    const count = random(12);
    const testSet = { x: floats(random, count * sampleSizeOf(inputShape)), y: ints(random, count) };
    const testSetMessage: Message = { v, t: 'testSet', count, inputShape, numClasses: 10 };
    assert.deepEqual(decodeTestSetPayload({ count, inputShape }, overTheWire(testSetMessage, encodeTestSetPayload(testSet, inputShape))), testSet);

    const state = floats(random, 1 + random(50));
    assert.deepEqual(decodeStatePayload(overTheWire({ v, t: 'state', step: trial }, encodeStatePayload(state))), state);

    // Any UTF-8 (the byte count, not the string length, is what the header carries) and weights of any length.
    const modelJson = JSON.stringify({ name: `modèle-${trial}-✓`, layers: Array.from({ length: random(5) }, (_, i) => i) });
    const weights = Uint8Array.from({ length: random(40) }, () => random(256));
    const checkpointState = floats(random, random(30));
    const checkpoint = encodeCheckpointPayload({ modelJson, weights, state: checkpointState });
    const { jsonBytes, weightsBytes } = checkpoint;
    const checkpointMessage: Message = { v, t: 'checkpointData', step: trial, jsonBytes, weightsBytes };
    const back = decodeCheckpointPayload(checkpoint, overTheWire(checkpointMessage, checkpoint.parts));
    assert.deepEqual(back, { modelJson, weights, state: checkpointState });

    const model = encodeModelPayload({ modelJson, weights });
    const modelMessage: Message = { v, t: 'model', jsonBytes: model.jsonBytes, accuracy: 0.5, loss: 1 };
    assert.deepEqual(decodeModelPayload(model, overTheWire(modelMessage, model.parts)), { modelJson, weights });
  }
});

test('decoders refuse a payload whose length does not fit the header, with PROTOCOL_ERR_LENGTH', () => {
  const step = { counts: [2, 1], sampleSize: 3 };
  const stepBytes = 3 * 4 + 3 * 3 * 4 + 3 * 4;
  for (const bytes of [stepBytes - 1, stepBytes + 1, stepBytes - 4, stepBytes + 4, 3 * 4, 0]) {
    assert.throws(() => decodeStepPayload(step, new Uint8Array(bytes)), lengthError, `step of ${bytes} bytes`);
  }
  assert.equal(decodeStepPayload(step, new Uint8Array(stepBytes)).length, 2);
  assert.throws(() => decodeStepPayload({ counts: [2], sampleSize: 0 }, new Uint8Array(12)), lengthError);

  const testSet = { count: 2, inputShape: [2, 3] };
  const testSetBytes = 2 * 6 * 4 + 2 * 4;
  for (const bytes of [testSetBytes - 1, testSetBytes + 1, testSetBytes - 4, testSetBytes + 4]) {
    assert.throws(() => decodeTestSetPayload(testSet, new Uint8Array(bytes)), lengthError, `test set of ${bytes} bytes`);
  }
  assert.equal(decodeTestSetPayload(testSet, new Uint8Array(testSetBytes)).y.length, 2);

  for (const bytes of [0, 3, 9]) assert.throws(() => decodeStatePayload(new Uint8Array(bytes)), lengthError, `state of ${bytes} bytes`);

  const checkpoint = { jsonBytes: 10, weightsBytes: 8 };
  for (const bytes of [17, 19, 21, 25]) {
    assert.throws(() => decodeCheckpointPayload(checkpoint, new Uint8Array(bytes)), lengthError, `checkpoint of ${bytes} bytes`);
  }
  assert.equal(decodeCheckpointPayload(checkpoint, new Uint8Array(22)).state.length, 1);

  assert.throws(() => decodeModelPayload({ jsonBytes: 11 }, new Uint8Array(10)), lengthError);
  assert.equal(decodeModelPayload({ jsonBytes: 10 }, new Uint8Array(10)).weights.length, 0);
});

test('encoders refuse samples that do not match the indices or the shape, and a state of nothing', () => {
  const indices = Int32Array.of(1, 2);
  assert.throws(() => encodeStepPayload(indices, 3, { x: new Float32Array(5), y: new Int32Array(2) }), lengthError);
  assert.throws(() => encodeStepPayload(indices, 3, { x: new Float32Array(6), y: new Int32Array(1) }), lengthError);
  assert.throws(() => encodeStepPayload(indices, 3), lengthError);
  assert.throws(() => encodeStepPayload(indices, 0, { x: new Float32Array(0), y: new Int32Array(2) }), lengthError);
  assert.throws(() => encodeTestSetPayload({ x: new Float32Array(7), y: new Int32Array(2) }, [2, 2]), lengthError);
  assert.throws(() => encodeStatePayload(new Float32Array(0)), lengthError);
});
