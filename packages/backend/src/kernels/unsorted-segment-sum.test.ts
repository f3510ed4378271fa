import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { assertClose, initBothBackends, runOnBoth, seededUniform } from '../testing/both-backends.js';

describe('UnsortedSegmentSum on wasm', () => {
  before(initBothBackends);

  it('matches cpu, dropping ids outside [0, numSegments)', async () => {
    const x = seededUniform(6 * 3, 1);
    const result = await runOnBoth(() =>
      tf.unsortedSegmentSum(tf.tensor(x, [6, 3]), tf.tensor1d([0, 2, 2, -1, 1, 7], 'int32'), 4),
    );
    assertClose(result, 1e-7, 'unsortedSegmentSum');
  });

  it('is the gradient of gather, so an embedding table trains on wasm', async () => {
    const table = seededUniform(5 * 3, 3);
    const weights = seededUniform(4 * 3, 4);
    const result = await runOnBoth(() =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d([0, 2, 2, 1], 'int32')), tf.tensor(weights, [4, 3]))))(
        tf.tensor(table, [5, 3]),
      ),
    );
    assertClose(result, 1e-7, 'gradient of gather');
  });
});
