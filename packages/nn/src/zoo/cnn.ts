import * as tf from '@tensorflow/tfjs';
import { SeededLayers } from './builder.js';
import type { ResolvedZooOptions } from './options.js';

/**
 * conv16 -> BN/relu -> pool -> [dropout] -> conv32 -> BN/relu -> pool -> [dropout] ->
 * dense 64 relu -> dense classes softmax: the small CNN the speed figures refer to.
 */
export function cnn(options: ResolvedZooOptions, name: string): tf.LayersModel {
  const make = new SeededLayers(options);
  const model = tf.sequential({ name });
  // The input shape goes on the first layer: a Sequential holding an explicit InputLayer
  // does not survive tfjs's own JSON round trip (which saving and layer conversion use).
  for (const [i, filters] of [16, 32].entries()) {
    const inputShape = i === 0 ? options.inputShape : undefined;
    const conv = (activation: 'relu' | 'linear', useBias: boolean): tf.layers.Layer =>
      make.conv2d({ filters, kernelSize: 3, activation, useBias, inputShape });
    for (const layer of make.withNormalization(conv, options.bnPlacement)) model.add(layer);
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    if (options.dropout > 0) model.add(make.dropout(options.dropout));
  }
  model.add(tf.layers.flatten());
  model.add(make.dense(64, 'relu'));
  model.add(make.dense(options.numClasses, 'softmax'));
  return model;
}
