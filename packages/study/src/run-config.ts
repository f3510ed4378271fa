import type { BnPlacement } from '@tfjs-ddp/nn';
import type { OptimizerSpec } from '@tfjs-ddp/trainer';

/** The zoo model every run trains: conv16-BN-relu-pool-conv32-BN-relu-pool-dense64-dense10. */
export const STUDY_MODEL = 'cnn-bn';

/** The optimizer of every question but the learning-rate sweep: tfjs-ddp's default. */
export const DEFAULT_OPTIMIZER: OptimizerSpec = { name: 'adam', learningRate: 0.001 };

/**
 * BN momentum of questions 1-4. A quick run is 64 steps: with tfjs's 0.99 its moving
 * averages would still hold 0.99^64 = 53 % of their initial values (mean 0, variance 1),
 * and every question would measure stale inference statistics instead of what BN does to
 * training. 0.9 is PyTorch's default (its momentum 0.1 in the other convention);
 * question 5 measures what tfjs's 0.99 costs.
 */
export const STUDY_BN_MOMENTUM = 0.9;

/** What defines one training configuration, apart from its seed. */
export interface ArmConfig {
  bnPlacement: BnPlacement;
  /** Dropout rate after each pooling layer. */
  dropout: number;
  /**
   * Samples each simulated replica normalizes over with local BN. Equal to the global
   * batch: BN over the whole global batch, which is what SyncBN computes.
   */
  bnBatch: number;
  optimizer: OptimizerSpec;
  /** Glorot-uniform kernels times this. */
  initScale: number;
  bnMomentum: number;
}

export interface RunConfig extends ArmConfig {
  seed: number;
}

/** What a question asks of a run besides its final test accuracy. */
export interface RunExtras {
  /** Accuracy along the run, for learning curves. */
  curve: boolean;
  /** Accuracy with each test batch's own BN statistics, at the budget's test batch sizes. */
  testTimeStatistics: boolean;
}

/** One run to do: a configuration, a seed and the extra measurements wanted of it. */
export interface RunRequest {
  key: string;
  config: RunConfig;
  extras: RunExtras;
}

/** The arm every question varies: BN before relu, no dropout, BN over the global batch, adam. */
export function baseArm(globalBatch: number): ArmConfig {
  return { bnPlacement: 'before', dropout: 0, bnBatch: globalBatch, optimizer: { ...DEFAULT_OPTIMIZER }, initScale: 1, bnMomentum: STUDY_BN_MOMENTUM };
}

/** A stable identity of an arm (key order and optional fields do not matter). */
export function armKey(arm: ArmConfig): string {
  const o = arm.optimizer;
  return [
    `bn=${arm.bnPlacement}`,
    `dropout=${arm.dropout}`,
    `bnBatch=${arm.bnBatch}`,
    `opt=${o.name}:${o.learningRate ?? 'default'}`,
    `init=${arm.initScale}`,
    `momentum=${arm.bnMomentum}`,
  ].join(',');
}

export function runKey(config: RunConfig): string {
  return `${armKey(config)},seed=${config.seed}`;
}
