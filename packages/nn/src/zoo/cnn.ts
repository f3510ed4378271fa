import * as tf from '@tensorflow/tfjs';
import { SeededLayers } from './builder.js';
import type { ResolvedZooOptions } from './options.js';

/**
 * conv16 -> BN/relu -> pool -> [dropout] -> conv32 -> BN/relu -> pool -> [dropout] ->
 * dense 64 relu -> dense classes softmax: the small CNN the speed figures refer to.
 */
export function cnn(options: ResolvedZooOptions, name: string): tf.LayersModel {
  const make = new SeededLayers(options.seed);
  const model = tf.sequential({ name });
  model.add(tf.layers.inputLayer({ inputShape: options.inputShape }));
  for (const filters of [16, 32]) {
    const conv = (activation: 'relu' | 'linear', useBias: boolean): tf.layers.Layer =>
      make.conv2d({ filters, kernelSize: 3, activation, useBias });
    for (const layer of make.withNormalization(conv, options.bnPlacement)) model.add(layer);
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    if (options.dropout > 0) model.add(make.dropout(options.dropout));
  }
  model.add(tf.layers.flatten());
  model.add(make.dense(64, 'relu'));
  model.add(make.dense(options.numClasses, 'softmax'));
  return model;
}
