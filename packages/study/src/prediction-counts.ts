import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '@tfjs-ddp/data';

/**
 * Test samples predicted as each class (argmax of the model's output, inference mode):
 * one class for every sample is a collapsed model, whatever its loss says. A pass of its
 * own rather than a change to the trainer's evaluate(), which every job shares.
 */
export function predictedClassCounts(model: tf.LayersModel, dataset: Dataset, batchSize = 256): number[] {
  const counts = new Array<number>(dataset.numClasses).fill(0);
  for (let start = 0; start < dataset.size; start += batchSize) {
    const indices = Int32Array.from({ length: Math.min(batchSize, dataset.size - start) }, (_, i) => start + i);
    const batch = dataset.batch(indices);
    const classes = tf.tidy(() => {
      const x = tf.tensor(batch.x, [batch.count, ...dataset.inputShape], 'float32');
      return tf.argMax(model.predict(x) as tf.Tensor, -1);
    });
    for (const c of classes.dataSync()) counts[c] = (counts[c] ?? 0) + 1;
    classes.dispose();
  }
  return counts;
}
