import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { batchNormInputGradient, initBackend } from '@tfjs-ddp/backend';
import { mulberry32, normalFrom } from '@tfjs-ddp/data';
import { mergeMoments, momentsLength, shardMoments } from './moments.js';

before(async () => {
  await initBackend('wasm');
});

function randomTensor(shape: number[], seed: number, offset = 0, scale = 1): tf.Tensor {
  const normal = normalFrom(mulberry32(seed));
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => offset + scale * normal()), shape);
}

test('Chan merge of unequal shards (zero and large means included) equals the moments of the whole', () => {
  const channels = 3;
  for (const sizes of [[5], [3, 5, 8, 0], [0, 1, 0, 7], [1, 1, 1, 1, 1]]) {
    const shards = sizes.map((n, i) => randomTensor([n, 2, 2, channels], 10 + i, 1e4, 3));
    const gathered = new Float32Array(sizes.length * momentsLength(channels));
    shards.forEach((s, i) => gathered.set(shardMoments(s), i * momentsLength(channels)));
    const merged = mergeMoments(gathered, sizes.length, channels);
    // float64 reference over the concatenated values
    const all = shards.flatMap((s) => Array.from(s.dataSync()));
    const n = all.length / channels;
    assert.equal(merged.count, n);
    for (let c = 0; c < channels; c++) {
      const values = all.filter((_, i) => i % channels === c);
      const mean = values.reduce((a, b) => a + b, 0) / n;
      const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / n;
      assert.ok(Math.abs((merged.mean[c] as number) - mean) <= 1e-6 * Math.abs(mean), `sizes ${sizes}: mean ${merged.mean[c]} vs ${mean}`);
      assert.ok(Math.abs((merged.variance[c] as number) - variance) <= 2e-3 * variance, `sizes ${sizes}: variance ${merged.variance[c]} vs ${variance}`);
    }
    tf.dispose(shards);
  }
  assert.deepEqual(mergeMoments(new Float32Array(2 * momentsLength(2)), 2, 2).count, 0);
  assert.throws(() => mergeMoments(new Float32Array(4), 2, 2), RangeError);
});

test('dx from globally summed statistics over shards equals autodiff of BN on the whole batch', () => {
  const channels = 4;
  const x = randomTensor([12, 3, 3, channels], 1, 0.5, 2);
  const gamma = randomTensor([channels], 2, 1, 0.3) as tf.Tensor1D;
  const beta = randomTensor([channels], 3) as tf.Tensor1D;
  const upstream = randomTensor([12, 3, 3, channels], 4);
  const epsilon = 1e-3;
  // Reference: tfjs autodiff through moments + batchNorm on all 12 samples.
  const reference = tf.grad((input: tf.Tensor) => {
    const { mean, variance } = tf.moments(input, [0, 1, 2]);
    return tf.sum(tf.mul(tf.batchNorm(input, mean, variance, beta, gamma, epsilon), upstream));
  })(x);
  // Ours: the same batch as shards of 5, 0 and 7 samples, with sums all-reduced by hand.
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const invStd = tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor1D;
  const bounds = [0, 5, 5, 12];
  const pieces = [0, 1, 2].map((i) => {
    const begin = bounds[i] as number;
    const size = (bounds[i + 1] as number) - begin;
    return { dy: tf.slice(upstream, [begin], [size]), x: tf.slice(x, [begin], [size]) };
  });
  const sumDy = tf.addN(pieces.map((p) => tf.sum(p.dy, [0, 1, 2]))) as tf.Tensor1D;
  const sumDyXmu = tf.addN(pieces.map((p) => tf.sum(tf.mul(p.dy, tf.sub(p.x, mean)), [0, 1, 2]))) as tf.Tensor1D;
  const count = 12 * 3 * 3;
  const dx = tf.concat(pieces.map((p) => batchNormInputGradient(p.dy, p.x, mean as tf.Tensor1D, invStd, gamma, sumDy, sumDyXmu, count)));
  const diff = tf.max(tf.abs(tf.sub(dx, reference))).dataSync()[0] as number;
  const size = tf.max(tf.abs(reference)).dataSync()[0] as number;
  assert.ok(diff <= 1e-5 * size, `dx differs by ${diff} (max |dx| ${size})`);
});
