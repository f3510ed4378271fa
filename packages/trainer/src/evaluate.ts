import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '@tfjs-ddp/data';
import type { BnRecalibration } from './bn-recalibration.js';

export interface Evaluation {
  accuracy: number;
  /** Mean categorical cross-entropy. */
  loss: number;
  count: number;
  /** The BN recalibration that ran just before this evaluation, if one did. */
  bnRecalibration?: BnRecalibration;
}

/** Accuracy and loss of `model` on all of `dataset` (inference mode: BN uses moving statistics). */
export function evaluate(model: tf.LayersModel, dataset: Dataset, batchSize = 256): Evaluation {
  let correct = 0;
  let lossSum = 0;
  const epsilon = tf.backend().epsilon();
  for (let start = 0; start < dataset.size; start += batchSize) {
    const indices = Int32Array.from({ length: Math.min(batchSize, dataset.size - start) }, (_, i) => start + i);
    const batch = dataset.batch(indices);
    tf.tidy(() => {
      const x = tf.tensor(batch.x, [batch.count, ...dataset.inputShape], 'float32');
      const labels = tf.tensor1d(batch.y, 'int32');
      const probabilities = model.predict(x) as tf.Tensor;
      correct += tf.sum(tf.cast(tf.equal(tf.argMax(probabilities, -1), labels), 'int32')).dataSync()[0] as number;
      const picked = tf.sum(tf.mul(probabilities, tf.oneHot(labels, dataset.numClasses)), -1);
      lossSum -= tf.sum(tf.log(tf.clipByValue(picked, epsilon, 1))).dataSync()[0] as number;
    });
  }
  return { accuracy: dataset.size === 0 ? 0 : correct / dataset.size, loss: dataset.size === 0 ? 0 : lossSum / dataset.size, count: dataset.size };
}
