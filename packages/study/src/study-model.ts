import * as tf from '@tensorflow/tfjs';
import { SeededLayers, type BnPlacement } from '@tfjs-ddp/nn';

/**
 * - `cnn`: the zoo's cnn-bn (conv16-BN-act-pool-conv32-BN-act-pool-dense64-dense), with the
 *   same seeded initial weights;
 * - `cnn-dense-bn`: the same with BN on the hidden dense layer too, where a sample gives each
 *   channel one value (a conv channel gets 28x28 or 14x14 per sample): the layer a small
 *   per-replica batch hurts first;
 * - `deep-mlp`: a deeper plain network, eight hidden dense layers of 64, no shortcuts.
 */
export const STUDY_NETWORKS = ['cnn', 'cnn-dense-bn', 'deep-mlp'] as const;
export type StudyNetwork = (typeof STUDY_NETWORKS)[number];
export type StudyActivation = 'relu' | 'sigmoid' | 'tanh';
/** After each conv block's activation (before pooling), after each pooling layer, or before the classifier (after the hidden dense layer). */
export type DropoutPosition = 'conv' | 'pool' | 'classifier';

export const DEEP_MLP_LAYERS = 8;

export interface StudyModelOptions {
  inputShape: number[];
  numClasses: number;
  seed: number;
  network: StudyNetwork;
  bnPlacement: BnPlacement;
  activation: StudyActivation;
  dropout: number;
  dropoutAt: DropoutPosition;
  initScale: number;
  bnMomentum: number;
}

/** A weighted layer (made without activation), then BN and the activation in the order `placement` asks for. */
function normalized(
  make: SeededLayers,
  weighted: (useBias: boolean) => tf.layers.Layer,
  placement: BnPlacement,
  activation: StudyActivation,
): tf.layers.Layer[] {
  const act = (): tf.layers.Layer => tf.layers.activation({ activation });
  switch (placement) {
    case 'before':
      // BN's beta replaces the bias of the layer it follows.
      return [weighted(false), make.batchNorm(), act()];
    case 'after':
      return [weighted(true), act(), make.batchNorm()];
    case 'none':
      return [weighted(true), act()];
  }
}

/** The study's model for one arm: plain tfjs layers (BN as tfjs BatchNormalization, dropout as SampleDropout), ending in a softmax. */
export function buildStudyModel(o: StudyModelOptions): tf.LayersModel {
  const make = new SeededLayers(o);
  const model = tf.sequential({ name: `study-${o.network}` });
  const dropout = (at: DropoutPosition): void => {
    if (o.dropout > 0 && o.dropoutAt === at) model.add(make.dropout(o.dropout));
  };
  if (o.network === 'deep-mlp') {
    model.add(tf.layers.flatten({ inputShape: o.inputShape }));
    for (let i = 0; i < DEEP_MLP_LAYERS; i++) {
      for (const layer of normalized(make, (useBias) => make.dense(64, 'linear', useBias), o.bnPlacement, o.activation)) model.add(layer);
    }
    dropout('classifier');
    model.add(make.dense(o.numClasses, 'softmax'));
    return model;
  }
  // The input shape goes on the first layer: a Sequential holding an explicit InputLayer
  // does not survive tfjs's own JSON round trip (which saving and layer conversion use).
  for (const [i, filters] of [16, 32].entries()) {
    const inputShape = i === 0 ? o.inputShape : undefined;
    const conv = (useBias: boolean): tf.layers.Layer => make.conv2d({ filters, kernelSize: 3, activation: 'linear', useBias, inputShape });
    for (const layer of normalized(make, conv, o.bnPlacement, o.activation)) model.add(layer);
    dropout('conv');
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    dropout('pool');
  }
  model.add(tf.layers.flatten());
  const denseBn = o.network === 'cnn-dense-bn' ? o.bnPlacement : 'none';
  for (const layer of normalized(make, (useBias) => make.dense(64, 'linear', useBias), denseBn, o.activation)) model.add(layer);
  dropout('classifier');
  model.add(make.dense(o.numClasses, 'softmax'));
  return model;
}
