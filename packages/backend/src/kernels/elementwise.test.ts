import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { assertClose, initBothBackends, runOnBoth, seededUniform } from '../testing/both-backends.js';
import { addConfig } from './add.js';
import { castConfig } from './cast.js';
import { fusedBatchNormConfig } from './fused-batch-norm.js';
import { identityConfig } from './identity.js';
import { multiplyConfig } from './multiply.js';
import { realDivConfig } from './real-div.js';
import { subConfig } from './sub.js';

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

describe('elementwise kernels on wasm (channel broadcasts, FusedBatchNorm, Identity, Cast)', () => {
  before(initBothBackends);

  it('are this package’s kernels', () => {
    for (const config of [addConfig, subConfig, multiplyConfig, realDivConfig, fusedBatchNormConfig, identityConfig, castConfig]) {
      assert.equal(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc, config.kernelFunc, config.kernelName);
    }
  });

  const pairs: [number[], number[]][] = [
    [[2, 5, 3, 16], [16]],
    [[16], [2, 5, 3, 16]],
    [[3, 4, 7], [1, 1, 7]],
    [[1, 7], [3, 7]],
    [[6, 5], [5]],
    // Not a channel broadcast: the original kernels take these.
    [[2, 3, 4], [2, 3, 4]],
    [[2, 3, 4], [3, 1]],
    [[2, 3, 4], []],
  ];
  for (const [index, [aShape, bShape]] of pairs.entries()) {
    it(`add, sub, mul, div match cpu exactly: [${aShape}] with [${bShape}]`, async () => {
      const a = seededUniform(size(aShape), 2 * index + 1);
      // Away from zero, so division is well conditioned.
      const b = seededUniform(size(bShape), 2 * index + 2).map((v) => v + Math.sign(v) * 0.5 || 0.5);
      const result = await runOnBoth(() => {
        const ta = tf.tensor(a, aShape);
        const tb = tf.tensor(b, bShape);
        return [tf.add(ta, tb), tf.sub(ta, tb), tf.mul(ta, tb), tf.div(ta, tb)];
      });
      assertClose(result, 0, `[${aShape}] op [${bShape}]`);
    });
  }

  it('leave int32 arithmetic to the original kernels', async () => {
    const result = await runOnBoth(() => tf.mul(tf.tensor([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32'), tf.tensor([7, -8, 9], [3], 'int32')));
    assertClose(result, 0, 'int32 mul');
  });

  it('FusedBatchNorm matches cpu for per-channel statistics, with and without scale and offset', async () => {
    const shape: [number, number, number, number] = [3, 5, 7, 6];
    const x = seededUniform(size(shape), 11);
    const mean = seededUniform(6, 12);
    const variance = seededUniform(6, 13).map((v) => v * v + 0.1);
    const offset = seededUniform(6, 14);
    const scale = seededUniform(6, 15);
    const result = await runOnBoth(() => {
      const t = tf.tensor(x, shape) as tf.Tensor4D;
      return [
        tf.batchNorm(t, tf.tensor1d(mean), tf.tensor1d(variance), tf.tensor1d(offset), tf.tensor1d(scale), 1e-3),
        tf.batchNorm(t, tf.tensor1d(mean), tf.tensor1d(variance), undefined, undefined, 1e-3),
        tf.batchNorm(tf.tensor(x.subarray(0, 30), [5, 6]), tf.tensor1d(mean), tf.tensor1d(variance), tf.tensor1d(offset), tf.tensor1d(scale), 0.01),
        // Scalar statistics are not per channel: the original kernel's case.
        tf.batchNorm(t, tf.scalar(0.5), tf.scalar(2), tf.scalar(1), tf.scalar(3), 1e-3),
      ];
    });
    // k = scale / sqrt(var + eps) rounds once more than cpu's formula: a few ulps.
    assertClose(result, 1e-6, 'batchNorm');
  });

  it('Identity and same-dtype Cast share data, and disposing either keeps the other intact', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    const w = tf.cast(x, 'int32');
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4]);
    y.dispose();
    assert.deepEqual(Array.from(z.dataSync()), [1, 2, 3, 4]);
    assert.equal(w.dtype, 'int32');
    assert.deepEqual(Array.from(w.dataSync()), [1, 2, 3, 4]);
    z.dispose();
    w.dispose();
    assert.equal(tf.memory().numTensors, before);
    await tf.setBackend('cpu');
  });
});
