import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '@tfjs-ddp/data';
import { DEFAULT_LOSS, type LossName } from '@tfjs-ddp/protocol';
import type { BnRecalibration } from './bn-recalibration.js';
import { lossTarget, perSampleLoss, predictedClasses } from './losses.js';
import { settleReads } from './read-back.js';

export interface Evaluation {
  accuracy: number;
  /** Mean per-sample loss (the job's loss). */
  loss: number;
  count: number;
  /** The BN recalibration that ran just before this evaluation, if one did. */
  bnRecalibration?: BnRecalibration;
}

/** One batch's correct count and loss sum, still on the backend (the caller disposes them). */
interface BatchScores {
  correct: tf.Scalar;
  /** The batch's summed loss times `sign` (categorical cross-entropy sums log-probabilities: sign -1). */
  value: tf.Scalar;
  sign: 1 | -1;
}

function scoreBatch(model: tf.LayersModel, dataset: Dataset, loss: LossName, start: number, batchSize: number): BatchScores {
  const indices = Int32Array.from({ length: Math.min(batchSize, dataset.size - start) }, (_, i) => start + i);
  const batch = dataset.batch(indices);
  const epsilon = tf.backend().epsilon();
  return tf.tidy(() => {
    const x = tf.tensor(batch.x, [batch.count, ...dataset.inputShape], 'float32');
    const labels = tf.tensor1d(batch.y, 'int32');
    const output = model.predict(x) as tf.Tensor;
    const correct = tf.sum(tf.cast(tf.equal(predictedClasses(loss, output), labels), 'int32')) as tf.Scalar;
    if (loss === 'categorical-crossentropy') {
      const picked = tf.sum(tf.mul(output, tf.oneHot(labels, dataset.numClasses)), -1);
      return { correct, value: tf.sum(tf.log(tf.clipByValue(picked, epsilon, 1))) as tf.Scalar, sign: -1 as const };
    }
    return { correct, value: tf.sum(perSampleLoss(loss, lossTarget(loss, labels, dataset.numClasses), output)) as tf.Scalar, sign: 1 as const };
  });
}

class Totals {
  private correct = 0;
  private lossSum = 0;

  /** Reads a batch's scores (synchronously) and disposes them. */
  add(scores: BatchScores): void {
    try {
      this.correct += scores.correct.dataSync()[0] as number;
      const value = scores.value.dataSync()[0] as number;
      if (scores.sign < 0) this.lossSum -= value;
      else this.lossSum += value;
    } finally {
      tf.dispose([scores.correct, scores.value]);
    }
  }

  result(size: number): Evaluation {
    return { accuracy: size === 0 ? 0 : this.correct / size, loss: size === 0 ? 0 : this.lossSum / size, count: size };
  }
}

/**
 * Accuracy and loss of `model` on all of `dataset` (inference mode: BN uses moving
 * statistics), with the loss the job trains with. Categorical cross-entropy keeps its
 * evaluation formula (-log of the label's clipped probability, no renormalization).
 * Reads back synchronously: on webgpu use `evaluateAsync`.
 */
export function evaluate(model: tf.LayersModel, dataset: Dataset, loss: LossName = DEFAULT_LOSS, batchSize = 256): Evaluation {
  const totals = new Totals();
  for (let start = 0; start < dataset.size; start += batchSize) totals.add(scoreBatch(model, dataset, loss, start, batchSize));
  return totals.result(dataset.size);
}

/** `evaluate` on every backend: each batch's scores are read back asynchronously first (see `settleReads`). */
export async function evaluateAsync(model: tf.LayersModel, dataset: Dataset, loss: LossName = DEFAULT_LOSS, batchSize = 256): Promise<Evaluation> {
  const totals = new Totals();
  for (let start = 0; start < dataset.size; start += batchSize) {
    const scores = scoreBatch(model, dataset, loss, start, batchSize);
    await settleReads([scores.correct, scores.value]).catch((error: unknown) => {
      tf.dispose([scores.correct, scores.value]);
      throw error;
    });
    totals.add(scores);
  }
  return totals.result(dataset.size);
}
