import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { assertClose, initBothBackends, runKernel, runOnBoth, seededUniform } from '../testing/both-backends.js';

/** Float32 sums in another order (observed: below 3e-7). */
const TOLERANCE = 1e-5;

interface Case { batch: number; h: number; w: number; inC: number; mult: number; f: number; stride: number; pad: 'same' | 'valid' }

const CASES: Case[] = [
  { batch: 2, h: 7, w: 9, inC: 8, mult: 1, f: 3, stride: 1, pad: 'same' },
  { batch: 1, h: 9, w: 7, inC: 5, mult: 1, f: 3, stride: 2, pad: 'same' },
  { batch: 3, h: 8, w: 8, inC: 3, mult: 2, f: 2, stride: 2, pad: 'valid' },
  { batch: 1, h: 11, w: 5, inC: 1, mult: 3, f: 5, stride: 1, pad: 'valid' },
  { batch: 2, h: 6, w: 6, inC: 6, mult: 1, f: 1, stride: 2, pad: 'same' },
];

describe('DepthwiseConv2dNativeBackpropFilter and -Input on wasm', () => {
  before(initBothBackends);

  for (const [index, c] of CASES.entries()) {
    const label = `x [${c.batch},${c.h},${c.w},${c.inC}] filter ${c.f}x${c.f} x${c.mult} stride ${c.stride} ${c.pad}`;
    it(`match cpu: ${label}`, async () => {
      const xShape: [number, number, number, number] = [c.batch, c.h, c.w, c.inC];
      const filterShape: [number, number, number, number] = [c.f, c.f, c.inC, c.mult];
      const dyShape = tf.tidy(() => tf.depthwiseConv2d(tf.zeros(xShape) as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, c.stride, c.pad).shape);
      const x = seededUniform(xShape.reduce((a, b) => a * b), 10 * index + 1);
      const filter = seededUniform(filterShape.reduce((a, b) => a * b), 10 * index + 2);
      const dy = seededUniform(dyShape.reduce((a, b) => a * b), 10 * index + 3);
      const common = { strides: [c.stride, c.stride], dilations: [1, 1], pad: c.pad, dimRoundingMode: undefined };
      const dw = await runOnBoth(() =>
        runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor(x, xShape), dy: tf.tensor(dy, dyShape) }, { ...common, filterShape }),
      );
      assert.deepEqual(dw.shapes[0], filterShape);
      assertClose(dw, TOLERANCE, `dW of ${label}`);
      const dx = await runOnBoth(() =>
        runKernel(
          'DepthwiseConv2dNativeBackpropInput',
          { dy: tf.tensor(dy, dyShape), filter: tf.tensor(filter, filterShape) },
          { ...common, inputShape: xShape }
        ),
      );
      assert.deepEqual(dx.shapes[0], xShape);
      assertClose(dx, TOLERANCE, `dx of ${label}`);
    });
  }

  it('train a depthwise conv through tf.grads as on cpu', async () => {
    const x = seededUniform(2 * 7 * 7 * 4, 71);
    const w = seededUniform(3 * 3 * 4 * 2, 72);
    const result = await runOnBoth(() => {
      const loss = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')));
      return tf.grads(loss)([tf.tensor(x, [2, 7, 7, 4]), tf.tensor(w, [3, 3, 4, 2])]);
    });
    assertClose(result, TOLERANCE, 'grads of depthwiseConv2d');
  });

  it('refuse dilation > 1, which tfjs gradients never ask for and cpu ignores', async () => {
    await tf.setBackend('wasm');
    assert.throws(
      () => runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.zeros([1, 7, 7, 2]), dy: tf.zeros([1, 7, 7, 2]) }, {
        strides: [1, 1], dilations: [2, 2], pad: 'same', filterShape: [3, 3, 2, 1],
      }),
      /dilation 1 only/,
    );
    await tf.setBackend('cpu');
  });
});
