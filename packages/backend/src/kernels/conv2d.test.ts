import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { assertClose, initBothBackends, runKernel, runOnBoth, seededUniform } from '../testing/both-backends.js';
import { conv2DConfig } from './conv2d.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { fusedConv2DConfig } from './fused-conv2d.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case { batch: number; h: number; w: number; inC: number; outC: number; fh: number; fw: number; stride: [number, number]; pad: Pad }

/** Float32 sums in another order: a few ulps of the output's scale (observed: below 3e-7). */
const TOLERANCE = 1e-5;

const CASES: Case[] = [
  { batch: 2, h: 7, w: 9, inC: 3, outC: 5, fh: 3, fw: 3, stride: [1, 1], pad: 'same' },
  { batch: 1, h: 9, w: 7, inC: 4, outC: 8, fh: 3, fw: 3, stride: [2, 2], pad: 'same' },
  { batch: 3, h: 8, w: 8, inC: 5, outC: 6, fh: 2, fw: 2, stride: [2, 2], pad: 'valid' },
  { batch: 2, h: 11, w: 5, inC: 1, outC: 16, fh: 5, fw: 3, stride: [1, 1], pad: 'valid' },
  { batch: 1, h: 13, w: 11, inC: 7, outC: 3, fh: 3, fw: 5, stride: [2, 1], pad: 'same' },
  { batch: 2, h: 6, w: 6, inC: 16, outC: 32, fh: 1, fw: 1, stride: [1, 1], pad: 'same' },
  { batch: 2, h: 7, w: 7, inC: 16, outC: 32, fh: 1, fw: 1, stride: [2, 2], pad: 'valid' },
  { batch: 1, h: 7, w: 7, inC: 3, outC: 4, fh: 3, fw: 3, stride: [2, 2], pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  // More taps (135) than one gemm block of rows (MC 128), more positions (288) than KC
  // (256) and than one block of patch rows (242), which ends mid image row;
  // batch-mat-mul.test.ts covers the other gemm block edges.
  { batch: 2, h: 12, w: 12, inC: 15, outC: 20, fh: 3, fw: 3, stride: [1, 1], pad: 'same' },
  // Narrow inputs (1-3 channels) take their own patch path; several blocks of patch rows.
  { batch: 3, h: 37, w: 37, inC: 2, outC: 4, fh: 3, fw: 3, stride: [1, 1], pad: 'same' },
  { batch: 4, h: 61, w: 59, inC: 1, outC: 3, fh: 3, fw: 3, stride: [2, 2], pad: 'same' },
];

function describeCase(c: Case): string {
  return `x [${c.batch},${c.h},${c.w},${c.inC}] filter ${c.fh}x${c.fw}x${c.outC} stride ${c.stride} pad ${JSON.stringify(c.pad)}`;
}

function outShape(c: Case): number[] {
  const x = (): tf.Tensor4D => tf.zeros([c.batch, c.h, c.w, c.inC]);
  const w = (): tf.Tensor4D => tf.zeros([c.fh, c.fw, c.inC, c.outC]);
  return tf.tidy(() => tf.conv2d(x(), w(), c.stride, c.pad).shape);
}

describe('Conv2D, FusedConv2D, Conv2DBackpropFilter and Conv2DBackpropInput on wasm', () => {
  before(initBothBackends);

  it('are this package’s kernels', () => {
    assert.equal(tf.getKernel('Conv2D', 'wasm')?.kernelFunc, conv2DConfig.kernelFunc);
    assert.equal(tf.getKernel('FusedConv2D', 'wasm')?.kernelFunc, fusedConv2DConfig.kernelFunc);
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc, conv2DBackpropFilterConfig.kernelFunc);
    assert.equal(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc, conv2DBackpropInputConfig.kernelFunc);
  });

  for (const [index, c] of CASES.entries()) {
    it(`match cpu: ${describeCase(c)}`, async () => {
      const xShape = [c.batch, c.h, c.w, c.inC];
      const filterShape: [number, number, number, number] = [c.fh, c.fw, c.inC, c.outC];
      const dyShape = outShape(c);
      const x = seededUniform(xShape.reduce((a, b) => a * b), 10 * index + 1);
      const filter = seededUniform(filterShape.reduce((a, b) => a * b), 10 * index + 2);
      const dy = seededUniform(dyShape.reduce((a, b) => a * b), 10 * index + 3);
      const common = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
      const dw = await runOnBoth(() =>
        runKernel('Conv2DBackpropFilter', { x: tf.tensor(x, xShape), dy: tf.tensor(dy, dyShape) }, { ...common, filterShape }),
      );
      assert.deepEqual(dw.shapes[0], filterShape);
      assertClose(dw, TOLERANCE, `dW of ${describeCase(c)}`);
      const dx = await runOnBoth(() =>
        runKernel('Conv2DBackpropInput', { dy: tf.tensor(dy, dyShape), filter: tf.tensor(filter, filterShape) }, { ...common, inputShape: xShape }),
      );
      assert.deepEqual(dx.shapes[0], xShape);
      assertClose(dx, TOLERANCE, `dx of ${describeCase(c)}`);
      const bias = seededUniform(c.outC, 10 * index + 4);
      const y = await runOnBoth(() => {
        const [tx, tw] = [tf.tensor4d(x, xShape as [number, number, number, number]), tf.tensor4d(filter, filterShape)];
        return [
          tf.conv2d(tx, tw, c.stride, c.pad),
          tf.fused.conv2d({ x: tx, filter: tw, strides: c.stride, pad: c.pad, bias: tf.tensor1d(bias), activation: 'relu' }),
          tf.fused.conv2d({ x: tx, filter: tw, strides: c.stride, pad: c.pad, bias: tf.tensor1d(bias), activation: 'linear' }),
        ];
      });
      assertClose(y, TOLERANCE, `forward of ${describeCase(c)}`);
    });
  }

  it('hand activations they do not cover (elu) to the original kernel, and compute dilated convolutions', async () => {
    const x = seededUniform(2 * 9 * 9 * 3, 81);
    const w = seededUniform(3 * 3 * 3 * 4, 82);
    const result = await runOnBoth(() => {
      const [tx, tw] = [tf.tensor4d(x, [2, 9, 9, 3]), tf.tensor4d(w, [3, 3, 3, 4])];
      return [
        tf.fused.conv2d({ x: tx, filter: tw, strides: 1, pad: 'same', activation: 'elu' }),
        tf.conv2d(tx, tw, 1, 'same', 'NHWC', 2),
      ];
    });
    assertClose(result, TOLERANCE, 'elu and dilated conv2d');
  });

  it('match cpu through tf.grad of conv2d (the path a training step takes)', async () => {
    const x = seededUniform(2 * 9 * 9 * 3, 91);
    const w = seededUniform(3 * 3 * 3 * 4, 92);
    const result = await runOnBoth(() => {
      const loss = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')));
      return tf.grads(loss)([tf.tensor(x, [2, 9, 9, 3]), tf.tensor(w, [3, 3, 3, 4])]);
    });
    assertClose(result, TOLERANCE, 'grads of conv2d');
  });

  it('refuse NCHW data instead of computing nonsense', async () => {
    await tf.setBackend('wasm');
    assert.throws(
      () => runKernel('Conv2DBackpropFilter', { x: tf.zeros([1, 2, 5, 5]), dy: tf.zeros([1, 2, 5, 5]) }, {
        strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2],
      }),
      /NHWC/,
    );
    await tf.setBackend('cpu');
  });
});
