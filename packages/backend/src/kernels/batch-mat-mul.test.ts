import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { assertClose, initBothBackends, runOnBoth, seededUniform } from '../testing/both-backends.js';
import { batchMatMulConfig } from './batch-mat-mul.js';

/** Float32 sums of up to 600 products in another order (observed: below 5e-7). */
const TOLERANCE = 1e-5;

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

describe('BatchMatMul on wasm', () => {
  before(initBothBackends);

  it('is this package’s kernel', () => {
    assert.equal(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc, batchMatMulConfig.kernelFunc);
  });

  const cases: [number[], number[], boolean, boolean][] = [
    [[3, 5], [5, 7], false, false],
    [[5, 3], [5, 7], true, false],
    [[3, 5], [7, 5], false, true],
    [[5, 3], [7, 5], true, true],
    [[1, 1], [1, 1], false, false],
    [[2, 4, 3, 5], [2, 4, 5, 6], false, false],
    [[3, 4, 5], [5, 6], false, false],
    [[1, 3, 5], [4, 5, 2], false, false],
    [[4, 5, 3], [1, 2, 5], true, true],
    // The dense layer backward of cnn-bn (x^T dy and dy W^T).
    [[64, 196], [64, 64], true, false],
    [[64, 64], [196, 64], false, true],
    // Past every gemm block edge: M > MC (128), K > KC (256), N > NC (512), none a multiple of 4 or 8.
    [[131, 261], [261, 517], false, false],
    [[261, 131], [517, 261], true, true],
  ];
  for (const [index, [aShape, bShape, transposeA, transposeB]] of cases.entries()) {
    it(`matches cpu: [${aShape}] x [${bShape}] transposeA ${transposeA} transposeB ${transposeB}`, async () => {
      const a = seededUniform(size(aShape), 2 * index + 1);
      const b = seededUniform(size(bShape), 2 * index + 2);
      const result = await runOnBoth(() => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), transposeA, transposeB));
      assert.deepEqual(result.shapes[0], await cpuShape(aShape, bShape, transposeA, transposeB));
      assertClose(result, TOLERANCE, `matMul [${aShape}] [${bShape}]`);
    });
  }

  it('broadcasts batch dimensions in several axes (checked against explicit tiling on cpu)', async () => {
    // cpu's own kernel only broadcasts a whole batch of one, so tile first there.
    const a = seededUniform(2 * 3 * 5, 51);
    const b = seededUniform(4 * 5 * 2, 52);
    await tf.setBackend('wasm');
    const onWasm = tf.tidy(() => tf.matMul(tf.tensor(a, [2, 1, 3, 5]), tf.tensor(b, [1, 4, 5, 2])).arraySync());
    await tf.setBackend('cpu');
    const onCpu = tf.tidy(() =>
      tf.matMul(tf.tile(tf.tensor(a, [2, 1, 3, 5]), [1, 4, 1, 1]), tf.tile(tf.tensor(b, [1, 4, 5, 2]), [2, 1, 1, 1])).arraySync(),
    );
    const flatWasm = (onWasm as number[][][][]).flat(3);
    const flatCpu = (onCpu as number[][][][]).flat(3);
    assert.equal(flatWasm.length, 2 * 4 * 3 * 2);
    flatWasm.forEach((v, i) => assert.ok(Math.abs(v - (flatCpu[i] as number)) < 1e-5, `element ${i}: ${v} vs ${flatCpu[i]}`));
  });

  it('gives an empty product for an empty inner or outer dimension', async () => {
    const result = await runOnBoth(() => [tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4])), tf.matMul(tf.zeros([0, 2]), tf.ones([2, 4]))]);
    assert.deepEqual(result.shapes, [[3, 4], [0, 4]]);
    assertClose(result, 0, 'empty matMul');
  });
});

async function cpuShape(aShape: number[], bShape: number[], transposeA: boolean, transposeB: boolean): Promise<number[]> {
  await tf.setBackend('cpu');
  return tf.tidy(() => tf.matMul(tf.zeros(aShape), tf.zeros(bShape), transposeA, transposeB).shape);
}
