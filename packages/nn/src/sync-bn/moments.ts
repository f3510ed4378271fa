import * as tf from '@tensorflow/tfjs';
import { channelMoments } from '@tfjs-ddp/backend';

/**
 * The math of synchronized batch normalization, apart from any network: per-channel
 * moments of a shard and their exact merge across shards (as in torch's SyncBatchNorm);
 * the backward from globally summed per-channel statistics is backend's `batchNormBackward`.
 *
 * A rank's statistics travel as one Float32Array: [count, mean_0..mean_C-1, m2_0..m2_C-1],
 * where m2 is the sum of squared deviations from the shard's own mean.
 */

export function momentsLength(channels: number): number {
  return 1 + 2 * channels;
}

/**
 * Count, mean and m2 per channel (last axis) of one shard, packed. An empty shard gives
 * zeros (wasm's reductions over no elements leave their output unwritten).
 */
export function shardMoments(x: tf.Tensor): Float32Array {
  const channels = x.shape[x.shape.length - 1] as number;
  const count = x.size / channels;
  const packed = new Float32Array(momentsLength(channels));
  packed[0] = count;
  if (count === 0) return packed;
  tf.tidy(() => {
    const { mean, m2 } = channelMoments(x);
    packed.set(mean.dataSync() as Float32Array, 1);
    packed.set(m2.dataSync() as Float32Array, 1 + channels);
  });
  return packed;
}

/** `shardMoments` read back asynchronously (webgpu in Node): the same kernels, the same packing. */
export async function shardMomentsAsync(x: tf.Tensor): Promise<Float32Array> {
  const channels = x.shape[x.shape.length - 1] as number;
  const count = x.size / channels;
  const packed = new Float32Array(momentsLength(channels));
  packed[0] = count;
  if (count === 0) return packed;
  const { mean, m2 } = channelMoments(x);
  try {
    packed.set((await mean.data()) as Float32Array, 1);
    packed.set((await m2.data()) as Float32Array, 1 + channels);
  } finally {
    tf.dispose([mean, m2]);
  }
  return packed;
}

export interface MergedMoments {
  count: number;
  mean: Float32Array;
  /** Biased variance (m2 / count), tfjs's convention for training and moving statistics. */
  variance: Float32Array;
}

/**
 * Merges the packed moments of `ranks` shards (concatenated in rank order) with Chan's
 * parallel formula, in float64 and in rank order, so every rank computes the same bits
 * and unequal shards (zero included) and large means stay exact.
 */
export function mergeMoments(gathered: Float32Array, ranks: number, channels: number): MergedMoments {
  const stride = momentsLength(channels);
  if (gathered.length !== ranks * stride) {
    throw new RangeError(`gathered moments hold ${gathered.length} values, expected ${ranks} x ${stride}`);
  }
  const mean = new Float64Array(channels);
  const m2 = new Float64Array(channels);
  let count = 0;
  for (let r = 0; r < ranks; r++) {
    const base = r * stride;
    const n = gathered[base] as number;
    if (n === 0) continue;
    const total = count + n;
    for (let c = 0; c < channels; c++) {
      const shardMean = gathered[base + 1 + c] as number;
      const delta = shardMean - (mean[c] as number);
      mean[c] = (mean[c] as number) + (delta * n) / total;
      m2[c] = (m2[c] as number) + (gathered[base + 1 + channels + c] as number) + (delta * delta * count * n) / total;
    }
    count = total;
  }
  const variance = new Float32Array(channels);
  if (count > 0) m2.forEach((v, c) => (variance[c] = v / count));
  return { count, mean: Float32Array.from(mean), variance };
}
