import * as tf from '@tensorflow/tfjs';
import { batchNormGradInput } from './batch-norm-grad-input.js';
import { batchNormGradSums } from './batch-norm-grad-sums.js';
import { channelMoments } from './channel-moments.js';

/**
 * Training-mode batch norm of one replica over the last axis, forward and backward on
 * this package's per-channel ops (a custom gradient: no Tile, a few passes over x): the
 * wiring nn's SyncBatchNormalization uses, with the global sums the local ones. Its test
 * checks it against tfjs's autodiff of tf.moments + tf.batchNorm; bench/compute times it.
 */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): tf.Tensor {
  const count = x.size / (x.shape[x.rank - 1] as number);
  const fn = tf.customGrad((input, g, bt, save) => {
    const xIn = input as tf.Tensor;
    const { mean, m2 } = channelMoments(xIn);
    const variance = tf.div(m2, count) as tf.Tensor1D;
    (save as tf.GradSaveFunc)([xIn, mean, variance, g as tf.Tensor]);
    return {
      value: tf.batchNorm(xIn, mean, variance, bt as tf.Tensor1D, g as tf.Tensor1D, epsilon),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, mu, v, gm] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const invStd = tf.rsqrt(tf.add(v, epsilon)) as tf.Tensor1D;
        const { sumDy, sumDyXmu } = batchNormGradSums(dy, xs, mu);
        const k = tf.mul(gm, invStd) as tf.Tensor1D;
        const a = tf.div(sumDy, count) as tf.Tensor1D;
        const b = tf.div(tf.mul(sumDyXmu, tf.square(invStd)), count) as tf.Tensor1D;
        return [batchNormGradInput(dy, xs, mu, k, a, b), tf.mul(sumDyXmu, invStd), sumDy];
      },
    };
  });
  return fn(x, gamma, beta);
}
