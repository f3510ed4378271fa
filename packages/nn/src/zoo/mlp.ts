import * as tf from '@tensorflow/tfjs';
import { SeededLayers } from './builder.js';
import type { ResolvedZooOptions } from './options.js';

/** flatten -> (dense 128, dense 64) each with relu, optional BN and dropout -> dense classes, softmax. */
export function mlp(options: ResolvedZooOptions): tf.LayersModel {
  const make = new SeededLayers(options);
  const model = tf.sequential({ name: 'mlp' });
  // Flatten needs a sample of rank >= 2; a flat input goes straight to the first dense layer.
  if (options.inputShape.length > 1) model.add(tf.layers.flatten({ inputShape: options.inputShape }));
  else model.add(tf.layers.reshape({ inputShape: options.inputShape, targetShape: options.inputShape }));
  for (const units of [128, 64]) {
    for (const layer of make.withNormalization((activation, useBias) => make.dense(units, activation, useBias), options.bnPlacement)) {
      model.add(layer);
    }
    if (options.dropout > 0) model.add(make.dropout(options.dropout));
  }
  model.add(make.dense(options.numClasses, 'softmax'));
  return model;
}
