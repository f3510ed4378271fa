import * as tf from '@tensorflow/tfjs';
import { NnError } from '../errors.js';
import { SeededLayers } from './builder.js';
import type { ResolvedZooOptions } from './options.js';

/** Filters of each stage; every stage after the first halves the spatial size. */
const STAGES = [16, 32, 64];

/**
 * A small ResNet (functional API): conv16-BN-relu, then per stage one basic block
 * (conv-BN-relu-conv-BN plus the shortcut, a strided 1x1 conv + BN where the shape
 * changes), global average pooling, dense softmax. 3 stages x 1 block: ResNet-8.
 */
export function resnet(options: ResolvedZooOptions): tf.LayersModel {
  if (options.bnPlacement === 'after') {
    throw new NnError('NN_ERR_BAD_OPTION', 'resnet places BN before the activation; use --bn-placement before or none');
  }
  const useBn = options.bnPlacement === 'before';
  const make = new SeededLayers(options);
  const bn = (x: tf.SymbolicTensor): tf.SymbolicTensor => (useBn ? (make.batchNorm().apply(x) as tf.SymbolicTensor) : x);
  const relu = (x: tf.SymbolicTensor): tf.SymbolicTensor => tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  const conv = (x: tf.SymbolicTensor, filters: number, kernelSize: number, strides = 1): tf.SymbolicTensor =>
    make.conv2d({ filters, kernelSize, strides, useBias: !useBn }).apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: options.inputShape });
  let x = relu(bn(conv(input, STAGES[0] as number, 3)));
  let channels = STAGES[0] as number;
  STAGES.forEach((filters, stage) => {
    const strides = stage === 0 ? 1 : 2;
    let shortcut = x;
    if (strides !== 1 || filters !== channels) shortcut = bn(conv(x, filters, 1, strides));
    let y = relu(bn(conv(x, filters, 3, strides)));
    y = bn(conv(y, filters, 3));
    x = relu(tf.layers.add().apply([y, shortcut]) as tf.SymbolicTensor);
    channels = filters;
  });
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  if (options.dropout > 0) x = make.dropout(options.dropout).apply(x) as tf.SymbolicTensor;
  const output = make.dense(options.numClasses, 'softmax').apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'resnet' });
}
