import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { withDropoutContext } from './dropout-context.js';
import { SampleDropout } from './sample-dropout.js';

before(async () => {
  await initBackend('wasm');
});

function masked(layer: SampleDropout, indices: number[], step: number, runSeed = 11): number[][] {
  return tf.tidy(() => {
    const x = tf.ones([indices.length, 6, 6, 2]);
    const y = withDropoutContext({ runSeed, step, sampleIndices: Int32Array.from(indices) }, () => layer.apply(x, { training: true }) as tf.Tensor);
    return (y.reshape([indices.length, -1]).arraySync() as number[][]);
  });
}

test("a sample's mask depends on (run seed, step, sample index), not on its batch or position", () => {
  const layer = new SampleDropout({ rate: 0.4, seed: 2 });
  const together = masked(layer, [5, 9, 13], 7);
  const alone = masked(layer, [9], 7);
  const reordered = masked(layer, [13, 9], 7);
  assert.deepEqual(alone[0], together[1]);
  assert.deepEqual(reordered[1], together[1]);
  assert.notDeepEqual(masked(layer, [9], 8)[0], alone[0], 'another step, another mask');
  assert.notDeepEqual(masked(layer, [9], 7, 12)[0], alone[0], 'another run seed, another mask');
  assert.notDeepEqual(masked(new SampleDropout({ rate: 0.4, seed: 3 }), [9], 7)[0], alone[0], 'another layer, another mask');
});

test('drops about `rate` of the values and scales the kept ones like tfjs Dropout', () => {
  const layer = new SampleDropout({ rate: 0.25 });
  const values = masked(layer, Array.from({ length: 50 }, (_, i) => i), 0).flat();
  const kept = values.filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6));
  const dropped = 1 - kept.length / values.length;
  assert.ok(Math.abs(dropped - 0.25) < 0.03, `dropped ${dropped}`);
});

test('identity at inference; config round trip', () => {
  const layer = new SampleDropout({ rate: 0.5, seed: 4 });
  const out = tf.tidy(() => (layer.apply(tf.ones([2, 3]), { training: false }) as tf.Tensor).dataSync());
  assert.deepEqual([...out], [1, 1, 1, 1, 1, 1]);
  const config = layer.getConfig();
  assert.equal(config['rate'], 0.5);
  assert.equal(config['seed'], 4);
  const copy = tf.serialization.SerializationMap.getMap().classNameMap['SampleDropout'];
  assert.ok(copy !== undefined, 'registered for deserialization');
});
