import * as tf from '@tensorflow/tfjs';
import { OPTIMIZER_NAMES, type OptimizerConfig, type OptimizerName } from '@tfjs-ddp/protocol';
import { TrainerError } from './errors.js';

export { OPTIMIZER_NAMES };
export type { OptimizerName };

/** An optimizer by name, with tfjs's own argument names and defaults (sgd and momentum 0.01, adam 0.001). */
export type OptimizerSpec = OptimizerConfig;

export const DEFAULT_LEARNING_RATE: Record<OptimizerName, number> = { sgd: 0.01, momentum: 0.01, adam: 0.001 };

export function isOptimizerName(name: string): name is OptimizerName {
  return (OPTIMIZER_NAMES as readonly string[]).includes(name);
}

export function createOptimizer(spec: OptimizerSpec): tf.Optimizer {
  if (!isOptimizerName(spec.name)) {
    throw new TrainerError('TRAINER_ERR_BAD_OPTION', `unknown optimizer "${spec.name}"; allowed: ${OPTIMIZER_NAMES.join(', ')}`);
  }
  const learningRate = spec.learningRate ?? DEFAULT_LEARNING_RATE[spec.name];
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
    throw new TrainerError('TRAINER_ERR_BAD_OPTION', `learning rate must be a positive number, got ${learningRate}`);
  }
  switch (spec.name) {
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, spec.momentum ?? 0.9, spec.useNesterov ?? false);
    case 'adam':
      return tf.train.adam(learningRate, spec.beta1 ?? 0.9, spec.beta2 ?? 0.999, spec.epsilon);
  }
}
