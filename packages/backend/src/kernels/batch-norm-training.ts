import * as tf from '@tensorflow/tfjs';
import { batchNormGradInput } from './batch-norm-grad-input.js';
import { batchNormGradSums } from './batch-norm-grad-sums.js';
import { channelMoments } from './channel-moments.js';

/** Per-channel sums of BN's backward: sum(dy) and sum(dy * (x - mean)). */
export interface BatchNormChannelSums {
  sumDy: tf.Tensor1D;
  sumDyXmu: tf.Tensor1D;
}

/**
 * dx of y = gamma * (x - mean) * invStd + beta when mean and variance are those of the
 * whole (global) batch of `count` values per channel:
 *   dx = gamma * invStd * (dy - sum(dy) / count - (x - mean) * invStd^2 * sum(dy * (x - mean)) / count),
 * both sums over that whole batch (all-reduced when it spans replicas). One pass over dy and x on wasm.
 */
export function batchNormInputGradient(
  dy: tf.Tensor,
  x: tf.Tensor,
  mean: tf.Tensor1D,
  invStd: tf.Tensor1D,
  gamma: tf.Tensor1D,
  globalSumDy: tf.Tensor1D,
  globalSumDyXmu: tf.Tensor1D,
  count: number,
): tf.Tensor {
  return tf.tidy(() => {
    const k = tf.mul(gamma, invStd) as tf.Tensor1D;
    const a = tf.div(globalSumDy, count) as tf.Tensor1D;
    const b = tf.div(tf.mul(globalSumDyXmu, tf.square(invStd)), count) as tf.Tensor1D;
    return batchNormGradInput(dy, x, mean, k, a, b);
  });
}

/**
 * The one backward of training-mode batch norm over the last axis (this package's
 * `batchNormTraining` and nn's SyncBatchNormalization both use it): [dx, dgamma, dbeta]
 * of one shard, given the mean and invStd = 1/sqrt(variance + epsilon) the forward
 * normalized with and the `count` values per channel they were taken over. `reduce`
 * turns this shard's per-channel sums into the whole batch's (SyncBN all-reduces them
 * over its group; one replica: they are already). dgamma and dbeta are this shard's own:
 * in data-parallel training the gradient all-reduce sums them.
 */
export function batchNormBackward(
  dy: tf.Tensor,
  x: tf.Tensor,
  mean: tf.Tensor1D,
  invStd: tf.Tensor1D,
  gamma: tf.Tensor1D,
  count: number,
  reduce: (local: BatchNormChannelSums) => BatchNormChannelSums = (local) => local,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  const channels = mean.size;
  // An empty shard's sums are zero; wasm's reductions over no elements leave their output unwritten.
  const local: BatchNormChannelSums =
    dy.size === 0 ? { sumDy: tf.zeros([channels]), sumDyXmu: tf.zeros([channels]) } : batchNormGradSums(dy, x, mean);
  const global = reduce(local);
  const dx =
    count === 0 || dy.size === 0 ? tf.zerosLike(dy) : batchNormInputGradient(dy, x, mean, invStd, gamma, global.sumDy, global.sumDyXmu, count);
  return [dx, tf.mul(local.sumDyXmu, invStd) as tf.Tensor1D, local.sumDy];
}

/**
 * Training-mode batch norm of one replica over the last axis, forward and backward on
 * this package's per-channel ops (a custom gradient: no Tile, a few passes over x): nn's
 * SyncBatchNormalization in a group of one, with moments taken here in float32 where
 * SyncBN merges every member's in float64 (its forward differs by design; its backward is
 * this one, `batchNormBackward`). Its test checks it against tfjs's autodiff of
 * tf.moments + tf.batchNorm; bench/compute times it.
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
        return batchNormBackward(dy, xs, mu, tf.rsqrt(tf.add(v, epsilon)) as tf.Tensor1D, gm, count);
      },
    };
  });
  return fn(x, gamma, beta);
}
