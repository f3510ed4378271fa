import * as tf from '@tensorflow/tfjs';
import type { LossName } from '@tfjs-ddp/protocol';
import { TrainerError } from './errors.js';

/**
 * The losses a job can train with (see LOSS_NAMES in @tfjs-ddp/protocol), each with
 * tfjs-layers' own formula so that a replica's step is the one `model.compile({ loss })`
 * + `trainOnBatch` would take. Labels are always class indices.
 */

/** The target tensor the loss compares the output with: one-hot rows, or the 0/1 label as one column. */
export function lossTarget(loss: LossName, labels: tf.Tensor1D, numClasses: number): tf.Tensor {
  if (loss === 'binary-crossentropy') return tf.reshape(tf.cast(labels, 'float32'), [-1, 1]);
  return tf.oneHot(labels, numClasses);
}

/** The loss of every sample, [count]. */
export function perSampleLoss(loss: LossName, target: tf.Tensor, output: tf.Tensor): tf.Tensor {
  const epsilon = tf.backend().epsilon();
  switch (loss) {
    case 'categorical-crossentropy': {
      const normalized = tf.div(output, tf.sum(output, -1, true));
      const clipped = tf.clipByValue(normalized, epsilon, 1 - epsilon);
      return tf.neg(tf.sum(tf.mul(target, tf.log(clipped)), -1));
    }
    case 'binary-crossentropy': {
      // Back to logits, then the stable max(x, 0) - x z + log(1 + exp(-|x|)).
      const clipped = tf.clipByValue(output, epsilon, 1 - epsilon);
      const logits = tf.log(tf.div(clipped, tf.sub(1, clipped)));
      const perUnit = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, target)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
      return tf.mean(perUnit, -1);
    }
    case 'mean-squared-error':
      return tf.mean(tf.square(tf.sub(output, target)), -1);
  }
}

/** The class each output row predicts: the largest unit, or for one sigmoid unit class 1 above 0.5 (tfjs's binaryAccuracy). */
export function predictedClasses(loss: LossName, output: tf.Tensor): tf.Tensor {
  if (loss === 'binary-crossentropy') return tf.cast(tf.greater(tf.reshape(output, [-1]), 0.5), 'int32');
  return tf.argMax(output, -1);
}

/** What the last layer must be for each loss, in words and as a test. */
const NEEDS: Record<LossName, { words: string; fits: (activation: string, units: number, numClasses: number) => boolean }> = {
  'categorical-crossentropy': { words: 'softmax with one unit per class', fits: (a, u, n) => a === 'softmax' && u === n },
  'binary-crossentropy': { words: 'one sigmoid unit (2 classes, labels 0/1)', fits: (a, u, n) => a === 'sigmoid' && u === 1 && n === 2 },
  'mean-squared-error': { words: 'linear or softmax with one unit per class', fits: (a, u, n) => (a === 'linear' || a === 'softmax') && u === n },
};

/** The activation a layer applies last: its `activation` setting, a Softmax layer's, else linear. */
function activationOf(layer: tf.layers.Layer): string {
  if (layer.getClassName() === 'Softmax') return 'softmax';
  const activation = layer.getConfig()['activation'];
  return typeof activation === 'string' ? activation : 'linear';
}

/**
 * Refuses a model whose last layer does not fit `loss` on `numClasses` classes (e.g.
 * cross-entropy of a relu output trains on nonsense without an error). Called once per
 * replica, when it is built, before any step.
 */
export function checkOutputFitsLoss(model: tf.LayersModel, loss: LossName, numClasses: number): void {
  // The layer that made the output (a Sequential's `outputLayers` is empty).
  const output = model.outputs[0];
  const units = output?.shape.at(-1);
  if (output === undefined || typeof units !== 'number') {
    throw new TrainerError('TRAINER_ERR_MODEL_SHAPE', `model "${model.name}" must output [batch, units]`);
  }
  const layer = output.sourceLayer as tf.layers.Layer;
  const activation = activationOf(layer);
  const need = NEEDS[loss];
  if (need.fits(activation, units, numClasses)) return;
  throw new TrainerError(
    'TRAINER_ERR_LOSS_MISMATCH',
    `loss ${loss} needs the model's last layer to be ${need.words}, on ${numClasses} classes; ` +
      `model "${model.name}" ends in layer "${layer.name}" (${layer.getClassName()}) with activation ${activation} and ${units} unit(s)`,
  );
}
