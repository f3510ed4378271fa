import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { assertClose, initBothBackends, runOnBoth, seededUniform } from '../testing/both-backends.js';
import { maxPoolGradConfig } from './max-pool-grad.js';

interface Case { batch: number; h: number; w: number; c: number; f: number; stride: number; pad: 'same' | 'valid' }

// Channel counts of 3, 5 and 6 leave lanes for the scalar path after the 4-wide one.
const CASES: Case[] = [
  { batch: 2, h: 8, w: 8, c: 16, f: 2, stride: 2, pad: 'valid' },
  { batch: 1, h: 7, w: 9, c: 3, f: 2, stride: 2, pad: 'same' },
  { batch: 2, h: 9, w: 7, c: 5, f: 3, stride: 1, pad: 'same' },
  { batch: 3, h: 11, w: 11, c: 6, f: 3, stride: 2, pad: 'valid' },
  { batch: 1, h: 5, w: 5, c: 4, f: 5, stride: 1, pad: 'valid' },
];

/** Values on a grid of 0.25 in [-1, 1]: windows hold ties, and the first maximum must win as on cpu. */
function withTies(size: number, seed: number): Float32Array {
  return seededUniform(size, seed).map((v) => Math.round(v * 4) / 4);
}

describe('MaxPoolGrad on wasm', () => {
  before(initBothBackends);

  it('is this package’s kernel', () => {
    assert.equal(tf.getKernel('MaxPoolGrad', 'wasm')?.kernelFunc, maxPoolGradConfig.kernelFunc);
  });

  for (const [index, c] of CASES.entries()) {
    const label = `x [${c.batch},${c.h},${c.w},${c.c}] pool ${c.f} stride ${c.stride} ${c.pad}`;
    it(`matches cpu exactly (ties included): ${label}`, async () => {
      const shape: [number, number, number, number] = [c.batch, c.h, c.w, c.c];
      const x = withTies(shape.reduce((a, b) => a * b), 2 * index + 1);
      const yShape = tf.tidy(() => tf.maxPool(tf.zeros(shape) as tf.Tensor4D, c.f, c.stride, c.pad).shape);
      const dy = seededUniform(yShape.reduce((a, b) => a * b), 2 * index + 2);
      const result = await runOnBoth(() =>
        tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(input as tf.Tensor4D, c.f, c.stride, c.pad), tf.tensor(dy, yShape))))(tf.tensor(x, shape)),
      );
      // Overlapping windows add several gradients in another order: allow an ulp there.
      assertClose(result, c.f > c.stride ? 1e-6 : 0, label);
    });
  }

  it('routes nothing from a window of -Infinity and NaN, as cpu', async () => {
    const x = new Float32Array([-Infinity, Number.NaN, -Infinity, -Infinity, 1, 2, 3, Number.NaN]);
    const result = await runOnBoth(() =>
      tf.grad((input: tf.Tensor) => tf.sum(tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid')))(tf.tensor(x, [2, 2, 2, 1])),
    );
    assertClose(result, 0, 'non-finite windows');
    // The same in the 4-channel path for windows that tile the input (2x2, stride 2).
    const lanes = new Float32Array([
      -Infinity, Number.NaN, 1, Number.NaN,
      -Infinity, Number.NaN, -2, 5,
      -Infinity, Number.NaN, 1, 5,
      -Infinity, Number.NaN, 0, 4,
    ]);
    const tiled = await runOnBoth(() =>
      tf.grad((input: tf.Tensor) => tf.sum(tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid')))(tf.tensor(lanes, [1, 2, 2, 4])),
    );
    assertClose(tiled, 0, 'non-finite windows, tiled');
  });
});
