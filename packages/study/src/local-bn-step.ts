import * as tf from '@tensorflow/tfjs';
import { evenShardSizes } from '@tfjs-ddp/data';
import { syncBatchNormLayers, type SyncBatchNormalization } from '@tfjs-ddp/nn';
import type { Replica, Shard } from '@tfjs-ddp/trainer';
import { StudyError } from './errors.js';

export interface StepOutcome {
  lossSum: number;
  correct: number;
  count: number;
}

/** A shard's samples `from` .. `from + count - 1`, as a shard of its own. */
function subShard(shard: Shard, from: number, count: number, sampleSize: number): Shard {
  return {
    x: shard.x.subarray(from * sampleSize, (from + count) * sampleSize),
    y: shard.y.subarray(from, from + count),
    indices: shard.indices.subarray(from, from + count),
    count,
  };
}

function readMoving(layer: SyncBatchNormalization): [Float32Array, Float32Array] {
  return [layer.movingMean.read().dataSync().slice() as Float32Array, layer.movingVariance.read().dataSync().slice() as Float32Array];
}

function writeMoving(layer: SyncBatchNormalization, mean: Float32Array, variance: Float32Array): void {
  tf.tidy(() => {
    layer.movingMean.write(tf.tensor1d(mean));
    layer.movingVariance.write(tf.tensor1d(variance));
  });
}

/**
 * One data-parallel step of ceil(count / bnBatch) replicas with local (unsynchronized) BN,
 * computed exactly in this thread: each chunk of the global batch goes through forward
 * and backward on its own, so its BN layers normalize with that chunk's statistics, as a
 * replica's would; the chunks' summed gradients are applied once for the whole batch.
 *
 * Real replicas each keep their own moving statistics and average them when the model is
 * saved. The moving-average update is linear in the batch statistics, so that average
 * equals, step by step, restoring the pre-step moving statistics before each chunk and
 * setting them afterwards to the mean of the chunks' updated values, which is done here.
 *
 * The model's SyncBN layers must be in a group of one (plain BN). With bnBatch >= count,
 * this is one ordinary training step.
 */
export function localBatchNormStep(replica: Replica, shard: Shard, step: number, bnBatch: number): StepOutcome {
  const layers = syncBatchNormLayers(replica.model);
  const grouped = layers.find((layer) => layer.getGroup().size !== 1);
  if (grouped !== undefined) {
    throw new StudyError('STUDY_ERR_BN_GROUP', `${grouped.name} is synchronized over ${grouped.getGroup().size} replicas; local BN needs a group of one`);
  }
  if (!Number.isInteger(bnBatch) || bnBatch < 1) throw new StudyError('STUDY_ERR_BAD_OPTION', `bnBatch must be a positive integer, got ${bnBatch}`);
  if (bnBatch >= shard.count || layers.length === 0) {
    // Without BN the chunks' summed gradients are the whole batch's: no need to split.
    const whole = replica.trainStep(shard, step);
    return { lossSum: whole.lossSum, correct: whole.correct, count: whole.count };
  }
  const sampleSize = shard.count === 0 ? 0 : shard.x.length / shard.count;
  const sizes = evenShardSizes(shard.count, Math.ceil(shard.count / bnBatch));
  const before = layers.map(readMoving);
  const sums = before.map(([mean]) => [new Float64Array(mean.length), new Float64Array(mean.length)] as const);
  const summed = new Float32Array(replica.gradientSize);
  const chunkGradients = new Float32Array(replica.gradientSize);
  const outcome: StepOutcome = { lossSum: 0, correct: 0, count: 0 };
  let from = 0;
  sizes.forEach((size, chunk) => {
    if (chunk > 0) layers.forEach((layer, i) => writeMoving(layer, ...(before[i] as [Float32Array, Float32Array])));
    const result = replica.computeGradients(subShard(shard, from, size, sampleSize), step, chunkGradients);
    for (let i = 0; i < summed.length; i++) summed[i] = (summed[i] as number) + (chunkGradients[i] as number);
    outcome.lossSum += result.lossSum;
    outcome.correct += result.correct;
    outcome.count += result.count;
    layers.forEach((layer, i) => {
      const [mean, variance] = readMoving(layer);
      const [meanSum, varianceSum] = sums[i] as readonly [Float64Array, Float64Array];
      mean.forEach((v, c) => (meanSum[c] = (meanSum[c] as number) + v));
      variance.forEach((v, c) => (varianceSum[c] = (varianceSum[c] as number) + v));
    });
    from += size;
  });
  layers.forEach((layer, i) => {
    const [meanSum, varianceSum] = sums[i] as readonly [Float64Array, Float64Array];
    writeMoving(layer, Float32Array.from(meanSum, (v) => v / sizes.length), Float32Array.from(varianceSum, (v) => v / sizes.length));
  });
  replica.applyGradients(summed, shard.count, step);
  return outcome;
}
