import type { OptimizerSpec } from './optimizers.js';

/** The optimizer settings the optimizer tests run (tfjs's rules and the fused update): defaults and non-defaults of each. */
export const OPTIMIZER_TEST_SPECS: readonly OptimizerSpec[] = [
  { name: 'sgd', learningRate: 0.1 },
  { name: 'momentum', learningRate: 0.05, momentum: 0.8 },
  { name: 'momentum', learningRate: 0.05, useNesterov: true },
  { name: 'adam', learningRate: 0.01 },
  { name: 'adam', learningRate: 0.003, beta1: 0.8, beta2: 0.99, epsilon: 1e-5 },
];
