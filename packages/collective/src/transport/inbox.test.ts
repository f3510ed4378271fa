import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DataMessage, PayloadConsumer } from '@tfjs-ddp/protocol';
import { Inbox } from './inbox.js';
import { allocReduceBuffer } from '../reduce/reduce-engine.js';
import { inputFor } from '../testing.js';

const tag = { group: 'g', seq: 0, tag: 0, offset: 0, count: 5000 };
const message: DataMessage = { v: 2, t: 'data', g: 'g', s: 0, i: 0, off: 0, n: 5000, dt: 'float32' };
const noFlow = { pause: () => undefined, resume: () => undefined };

function expectedSum(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((x, i) => x + (b[i] as number));
}

test('in-place reads of odd sizes into the wasm scratch combine every float once (floats split across reads)', async () => {
  const into = allocReduceBuffer(5000);
  const mine = inputFor(0, 5000);
  into.set(mine);
  const incoming = inputFor(1, 5000);
  const bytes = new Uint8Array(incoming.buffer);
  const inbox = new Inbox(1, noFlow);
  const done = inbox.post(tag, into, 'sum');
  const consumer = inbox.payloadTarget(message, bytes.byteLength) as PayloadConsumer;
  const sizes = [7, 13, 1, 2, 4093, 3, 65536];
  let at = 0;
  for (let k = 0; at < bytes.byteLength; k++) {
    const target = consumer.readBuffer?.(bytes.byteLength - at);
    assert.ok(target, 'the destination has an engine: reads go to its scratch');
    const n = Math.min(sizes[k % sizes.length] as number, target.byteLength, bytes.byteLength - at);
    target.set(bytes.subarray(at, at + n));
    consumer.consumeRead?.(n, at);
    at += n;
  }
  inbox.frame(message, new Uint8Array(0));
  await done;
  assert.deepEqual(into, expectedSum(mine, incoming));
});

test('pieces handed over by a reader (consume) of odd sizes combine the same way, into plain memory too', async () => {
  for (const into of [allocReduceBuffer(5000), new Float32Array(5000)]) {
    const mine = inputFor(2, 5000);
    into.set(mine);
    const incoming = inputFor(3, 5000);
    const bytes = new Uint8Array(incoming.buffer);
    const inbox = new Inbox(1, noFlow);
    const done = inbox.post(tag, into, 'max');
    const consumer = inbox.payloadTarget(message, bytes.byteLength) as PayloadConsumer;
    for (let at = 0, k = 0; at < bytes.byteLength; k++) {
      const n = Math.min([5, 3, 1031][k % 3] as number, bytes.byteLength - at);
      consumer.consume(bytes.subarray(at, at + n), at);
      at += n;
    }
    inbox.frame(message, new Uint8Array(0));
    await done;
    assert.deepEqual(into, mine.map((x, i) => Math.max(x, incoming[i] as number)));
  }
});
