import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '@tfjs-ddp/data';
import { syncBatchNormLayers } from '@tfjs-ddp/nn';
import type { Score } from './results.js';

/**
 * Accuracy and loss of `model` on `dataset` when every BN layer normalizes each test
 * batch of `batchSize` with that batch's own statistics (BN in training mode) instead of
 * the moving ones. Batches are taken in the data set's order, the last one partial.
 * Training mode would also update the moving statistics; they are restored, so the model
 * leaves as it came. Dropout is off: with no dropout context SampleDropout is the identity.
 */
export function evaluateWithBatchStatistics(model: tf.LayersModel, dataset: Dataset, batchSize: number): Score {
  const layers = syncBatchNormLayers(model);
  const saved = layers.map((layer) => [layer.movingMean.read().clone(), layer.movingVariance.read().clone()] as const);
  let correct = 0;
  let lossSum = 0;
  const epsilon = tf.backend().epsilon();
  try {
    for (let start = 0; start < dataset.size; start += batchSize) {
      const indices = Int32Array.from({ length: Math.min(batchSize, dataset.size - start) }, (_, i) => start + i);
      const batch = dataset.batch(indices);
      tf.tidy(() => {
        const x = tf.tensor(batch.x, [batch.count, ...dataset.inputShape], 'float32');
        const labels = tf.tensor1d(batch.y, 'int32');
        const probabilities = model.apply(x, { training: true }) as tf.Tensor;
        correct += tf.sum(tf.cast(tf.equal(tf.argMax(probabilities, -1), labels), 'int32')).dataSync()[0] as number;
        const picked = tf.sum(tf.mul(probabilities, tf.oneHot(labels, dataset.numClasses)), -1);
        lossSum -= tf.sum(tf.log(tf.clipByValue(picked, epsilon, 1))).dataSync()[0] as number;
      });
    }
  } finally {
    layers.forEach((layer, i) => {
      const [mean, variance] = saved[i] as readonly [tf.Tensor, tf.Tensor];
      layer.movingMean.write(mean);
      layer.movingVariance.write(variance);
      tf.dispose([mean, variance]);
    });
  }
  return { accuracy: dataset.size === 0 ? 0 : correct / dataset.size, loss: dataset.size === 0 ? 0 : lossSum / dataset.size };
}
