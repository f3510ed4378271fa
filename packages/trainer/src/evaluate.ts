import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '@tfjs-ddp/data';
import { DEFAULT_LOSS, type LossName } from '@tfjs-ddp/protocol';
import type { BnRecalibration } from './bn-recalibration.js';
import { lossTarget, perSampleLoss, predictedClasses } from './losses.js';

export interface Evaluation {
  accuracy: number;
  /** Mean per-sample loss (the job's loss). */
  loss: number;
  count: number;
  /** The BN recalibration that ran just before this evaluation, if one did. */
  bnRecalibration?: BnRecalibration;
}

/**
 * Accuracy and loss of `model` on all of `dataset` (inference mode: BN uses moving
 * statistics), with the loss the job trains with. Categorical cross-entropy keeps its
 * evaluation formula (-log of the label's clipped probability, no renormalization).
 */
export function evaluate(model: tf.LayersModel, dataset: Dataset, loss: LossName = DEFAULT_LOSS, batchSize = 256): Evaluation {
  let correct = 0;
  let lossSum = 0;
  const epsilon = tf.backend().epsilon();
  for (let start = 0; start < dataset.size; start += batchSize) {
    const indices = Int32Array.from({ length: Math.min(batchSize, dataset.size - start) }, (_, i) => start + i);
    const batch = dataset.batch(indices);
    tf.tidy(() => {
      const x = tf.tensor(batch.x, [batch.count, ...dataset.inputShape], 'float32');
      const labels = tf.tensor1d(batch.y, 'int32');
      const output = model.predict(x) as tf.Tensor;
      correct += tf.sum(tf.cast(tf.equal(predictedClasses(loss, output), labels), 'int32')).dataSync()[0] as number;
      if (loss === 'categorical-crossentropy') {
        const picked = tf.sum(tf.mul(output, tf.oneHot(labels, dataset.numClasses)), -1);
        lossSum -= tf.sum(tf.log(tf.clipByValue(picked, epsilon, 1))).dataSync()[0] as number;
      } else {
        lossSum += tf.sum(perSampleLoss(loss, lossTarget(loss, labels, dataset.numClasses), output)).dataSync()[0] as number;
      }
    });
  }
  return { accuracy: dataset.size === 0 ? 0 : correct / dataset.size, loss: dataset.size === 0 ? 0 : lossSum / dataset.size, count: dataset.size };
}
