import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../errors.js';
import { assertClose, initBothBackends, runOnBoth, seededUniform } from '../testing/both-backends.js';
import { batchNormGradInput } from './batch-norm-grad-input.js';
import { batchNormGradSums } from './batch-norm-grad-sums.js';
import { batchNormTraining } from './batch-norm-training.js';
import { channelMoments } from './channel-moments.js';

const EPSILON = 1e-3;

/** The op-by-op reference: tfjs's autodiff of tf.moments + tf.batchNorm. */
function tfjsBatchNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor {
  const { mean, variance } = tf.moments(x, Array.from({ length: x.rank - 1 }, (_, i) => i));
  return tf.batchNorm(x, mean, variance, beta, gamma, EPSILON);
}

describe('per-channel batch-norm ops (channelMoments, batchNormGradSums, batchNormGradInput)', () => {
  before(initBothBackends);

  it('match their tfjs-op fallback on cpu, from the wasm kernels', async () => {
    const shape = [3, 5, 7, 6];
    const x = seededUniform(3 * 5 * 7 * 6, 1).map((v) => 3 + 2 * v);
    const dy = seededUniform(x.length, 2);
    const vectors = [3, 4, 5, 6].map((seed) => seededUniform(6, seed));
    const result = await runOnBoth(() => {
      const tx = tf.tensor(x, shape);
      const tdy = tf.tensor(dy, shape);
      const { mean, m2 } = channelMoments(tx);
      const { sumDy, sumDyXmu } = batchNormGradSums(tdy, tx, mean);
      const [m, k, a, b] = vectors.map((v) => tf.tensor1d(v)) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
      return [mean, m2, sumDy, sumDyXmu, batchNormGradInput(tdy, tx, m, k, a, b)];
    });
    assertClose(result, 2e-6, 'batch-norm ops');
  });

  for (const shape of [[4, 6, 6, 8], [1, 5, 3, 3], [16, 10]]) {
    it(`give tfjs's own batch-norm gradients (dx, dγ, dβ) for x [${shape}]`, async () => {
      const channels = shape[shape.length - 1] as number;
      const x = seededUniform(shape.reduce((p, q) => p * q, 1), 7).map((v) => 1 + v);
      const weight = seededUniform(x.length, 8);
      const gamma = seededUniform(channels, 9).map((v) => 1 + 0.5 * v);
      const beta = seededUniform(channels, 10);
      const grads = (batchNorm: typeof tfjsBatchNorm): tf.Tensor[] =>
        tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(batchNorm(a, g as tf.Tensor1D, b as tf.Tensor1D), tf.tensor(weight, shape))),
        )([tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta)]);
      await tf.setBackend('cpu');
      const expected = tf.tidy(() => grads(tfjsBatchNorm).map((t) => Float32Array.from(t.dataSync())));
      await tf.setBackend('wasm');
      const actual = tf.tidy(() => grads((a, g, b) => batchNormTraining(a, g, b, EPSILON)).map((t) => Float32Array.from(t.dataSync())));
      await tf.setBackend('cpu');
      assertClose({ cpu: expected, wasm: actual, shapes: [] }, 2e-5, `batch norm gradients [${shape}]`);
    });
  }

  it('refuse mismatched shapes with BACKEND_ERR_BAD_SHAPE', () => {
    tf.tidy(() => {
      const badShape = (e: unknown): boolean => e instanceof BackendError && e.code === 'BACKEND_ERR_BAD_SHAPE';
      assert.throws(() => batchNormGradSums(tf.zeros([2, 3]), tf.zeros([2, 4]), tf.zeros([4])), badShape);
      assert.throws(() => channelMoments(tf.zeros([5])), (e: unknown) => e instanceof BackendError && e.code === 'BACKEND_ERR_BAD_SHAPE');
    });
  });
});
