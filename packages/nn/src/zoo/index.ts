import type * as tf from '@tensorflow/tfjs';
import { NnError } from '../errors.js';
import { cnn } from './cnn.js';
import { mlp } from './mlp.js';
import { BN_PLACEMENTS, DEFAULT_BN_MOMENTUM, type ResolvedZooOptions, type ZooOptions } from './options.js';
import { resnet } from './resnet.js';
import { ZOO_MODEL_NAMES, type ZooModelName } from './zoo-names.js';

export { ZOO_MODEL_NAMES, type ZooModelName };

interface ZooEntry {
  description: string;
  defaults: Pick<ResolvedZooOptions, 'bnPlacement' | 'dropout'>;
  build: (options: ResolvedZooOptions) => tf.LayersModel;
}

const ZOO = {
  mlp: {
    description: 'two hidden dense layers (128, 64); no BN unless asked',
    defaults: { bnPlacement: 'none', dropout: 0 },
    build: mlp,
  },
  'cnn-bn': {
    description: 'conv16-BN-relu-pool-conv32-BN-relu-pool-dense64-dense',
    defaults: { bnPlacement: 'before', dropout: 0 },
    build: (o) => cnn(o, 'cnn-bn'),
  },
  'cnn-bn-dropout': {
    description: 'cnn-bn with dropout 0.25 after each pooling layer',
    defaults: { bnPlacement: 'before', dropout: 0.25 },
    build: (o) => cnn(o, 'cnn-bn-dropout'),
  },
  resnet: {
    description: 'ResNet-8: three stages of one basic block (16, 32, 64 filters), BN before relu',
    defaults: { bnPlacement: 'before', dropout: 0 },
    build: resnet,
  },
} satisfies Record<ZooModelName, ZooEntry>;

export function isZooModelName(name: string): name is ZooModelName {
  return Object.hasOwn(ZOO, name);
}

export function describeZooModel(name: ZooModelName): string {
  return ZOO[name].description;
}

/** Builds a zoo model by name. Models end in a softmax; they are not compiled. */
export function createZooModel(name: string, options: ZooOptions = {}): tf.LayersModel {
  if (!isZooModelName(name)) {
    throw new NnError('NN_ERR_UNKNOWN_MODEL', `unknown model "${name}"; the zoo has: ${ZOO_MODEL_NAMES.join(', ')}`);
  }
  const entry: ZooEntry = ZOO[name];
  const bnPlacement = options.bnPlacement ?? entry.defaults.bnPlacement;
  if (!BN_PLACEMENTS.includes(bnPlacement)) {
    throw new NnError('NN_ERR_BAD_OPTION', `bnPlacement must be one of ${BN_PLACEMENTS.join(', ')}, got "${bnPlacement}"`);
  }
  const dropout = options.dropout ?? entry.defaults.dropout;
  if (!(dropout >= 0 && dropout < 1)) throw new NnError('NN_ERR_BAD_OPTION', `dropout must be in [0, 1), got ${dropout}`);
  const initScale = options.initScale ?? 1;
  if (!(initScale > 0 && Number.isFinite(initScale))) throw new NnError('NN_ERR_BAD_OPTION', `initScale must be a positive number, got ${initScale}`);
  const bnMomentum = options.bnMomentum ?? DEFAULT_BN_MOMENTUM;
  if (!(bnMomentum >= 0 && bnMomentum < 1)) throw new NnError('NN_ERR_BAD_OPTION', `bnMomentum must be in [0, 1), got ${bnMomentum}`);
  return entry.build({
    inputShape: [...(options.inputShape ?? [28, 28, 1])],
    numClasses: options.numClasses ?? 10,
    seed: options.seed ?? 1,
    bnPlacement,
    dropout,
    initScale,
    bnMomentum,
  });
}
