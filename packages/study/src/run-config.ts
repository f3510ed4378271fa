import type { BnPlacement } from '@tfjs-ddp/nn';
import type { OptimizerSpec } from '@tfjs-ddp/trainer';
import type { DropoutPosition, StudyActivation, StudyNetwork } from './study-model.js';

/** The optimizer of every question but the learning-rate sweep: tfjs-ddp's default. */
export const DEFAULT_OPTIMIZER: OptimizerSpec = { name: 'adam', learningRate: 0.001 };

/**
 * BN momentum of every question but 5's comparison. A quick run is 64 steps: with tfjs's 0.99 its moving
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
  /** The network (study-model.ts); default 'cnn', the zoo's cnn-bn. */
  network?: StudyNetwork;
  /** The hidden layers' nonlinearity; default 'relu'. */
  activation?: StudyActivation;
  /** Where the dropout layers sit; default 'pool' (after each pooling layer). */
  dropoutAt?: DropoutPosition;
  /** Linear warmup of the learning rate over this many first steps; default none. */
  lrWarmupSteps?: number;
  /** Train on the first this many samples of the budget's training subset only; default all. */
  trainSamples?: number;
  /** Epochs instead of the budget's. */
  epochs?: number;
  /** Stop after this many steps (question 3); default every epoch. */
  maxSteps?: number;
  /**
   * Train on real rank threads (question 3): `threads` replicas of `perReplicaBatch` samples
   * each (global batch threads x perReplicaBatch), BN mode 'local', 'sync' or 'sync:K'.
   * Undefined: one thread, with `bnBatch` simulating local BN.
   */
  ranks?: RankSetup;
}

export interface RankSetup {
  threads: number;
  perReplicaBatch: number;
  bnMode: string;
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
  /** Accuracy and loss on the run's own training samples at the end, as at test time (the over-fitting gap). */
  trainScore?: boolean;
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
    // Fields added later appear only when set, so that the keys of older results.json still match.
    ...(arm.network === undefined || arm.network === 'cnn' ? [] : [`net=${arm.network}`]),
    ...(arm.activation === undefined || arm.activation === 'relu' ? [] : [`act=${arm.activation}`]),
    ...(arm.dropoutAt === undefined || arm.dropoutAt === 'pool' ? [] : [`dropoutAt=${arm.dropoutAt}`]),
    ...(arm.lrWarmupSteps === undefined || arm.lrWarmupSteps === 0 ? [] : [`warmup=${arm.lrWarmupSteps}`]),
    ...(arm.trainSamples === undefined ? [] : [`train=${arm.trainSamples}`]),
    ...(arm.epochs === undefined ? [] : [`epochs=${arm.epochs}`]),
    ...(arm.maxSteps === undefined ? [] : [`steps=${arm.maxSteps}`]),
    ...(arm.ranks === undefined ? [] : [`ranks=${arm.ranks.threads}x${arm.ranks.perReplicaBatch}:${arm.ranks.bnMode}`]),
  ].join(',');
}

export function runKey(config: RunConfig): string {
  return `${armKey(config)},seed=${config.seed}`;
}
