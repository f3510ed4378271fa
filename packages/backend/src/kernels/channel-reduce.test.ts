import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { assertClose, initBothBackends, runOnBoth, seededUniform } from '../testing/both-backends.js';
import { meanConfig } from './mean.js';
import { sumConfig } from './sum.js';

/**
 * cpu sums in float64; here 64-row float32 blocks go into float64 sums, so results differ
 * by an ulp or two of the output's scale (observed: 2.5e-7 relative over 50 176 rows).
 */
const TOLERANCE = 2e-6;

describe('Sum and Mean on wasm', () => {
  before(initBothBackends);

  it('are this package’s kernels', () => {
    assert.equal(tf.getKernel('Sum', 'wasm')?.kernelFunc, sumConfig.kernelFunc);
    assert.equal(tf.getKernel('Mean', 'wasm')?.kernelFunc, meanConfig.kernelFunc);
  });

  const cases: [number[], number | number[], boolean][] = [
    // Leading axes: the C path (batch norm's per-channel reductions).
    [[4, 5, 6, 7], [0, 1, 2], false],
    [[4, 5, 6, 7], [2, 0, 1], true],
    [[5, 3], 0, false],
    [[7, 9, 13], [0, 1], false],
    [[3, 5, 2], [0], true],
    [[64 * 28 * 28, 16], 0, false],
    // Everything else falls back to tfjs-backend-wasm's own kernels.
    [[4, 5, 6], [1, 2], false],
    [[4, 5, 6], [0, 2], true],
    [[3, 9], [0, 1], false],
    [[6], 0, false],
  ];
  for (const [index, [shape, axis, keepDims]] of cases.entries()) {
    it(`match cpu: [${shape}] axis ${JSON.stringify(axis)} keepDims ${keepDims}`, async () => {
      const x = seededUniform(shape.reduce((a, b) => a * b, 1), index + 1);
      const result = await runOnBoth(() => {
        const t = tf.tensor(x, shape);
        return [tf.sum(t, axis, keepDims), tf.mean(t, axis, keepDims)];
      });
      const expectedShape = await tf.tidy(() => tf.sum(tf.zeros(shape), axis, keepDims).shape);
      assert.deepEqual(result.shapes[0], expectedShape);
      assertClose(result, TOLERANCE, `sum/mean [${shape}] ${JSON.stringify(axis)}`);
    });
  }

  it('reduce empty tensors without trapping: sums are 0, means NaN, as on cpu', async () => {
    // A rank with an empty shard runs its forward and backward for SyncBN's sake; wasm's
    // own kernels trapped (divide by zero in their transpose) or left garbage here.
    await tf.setBackend('wasm');
    const empty = tf.zeros([0, 4, 4, 3]);
    for (const [axes, shape] of [[[0, 1, 2], [3]], [[1, 2], [0, 3]], [[0], [4, 4, 3]]] as const) {
      const sum = tf.sum(empty, [...axes]);
      const mean = tf.mean(empty, [...axes]);
      assert.deepEqual(sum.shape, shape);
      assert.ok(Array.from(sum.dataSync()).every((v) => v === 0), `sum over ${axes}`);
      assert.ok(Array.from(mean.dataSync()).every((v) => Number.isNaN(v)), `mean over ${axes}`);
      assert.deepEqual(tf.sum(empty, [...axes], true).shape.length, 4);
    }
    assert.ok(Array.from(tf.sum(empty, [0, 1, 2]).dataSync()).length === 3);
  });

  it('leave int32 sums to the original kernel, exact', async () => {
    const x = Int32Array.from({ length: 60 }, (_, i) => (i * 7919) % 101 - 50);
    const result = await runOnBoth(() => tf.sum(tf.tensor(x, [4, 15], 'int32'), 0));
    assertClose(result, 0, 'int32 sum');
  });
});
