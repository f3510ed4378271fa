import type * as tf from '@tensorflow/tfjs';
import { ArrayDataset, type Dataset } from '@tfjs-ddp/data';
import type { JobConfig } from '@tfjs-ddp/protocol';
import type { BudgetSettings } from './budget.js';
import type { RunConfig } from './run-config.js';
import { buildStudyModel } from './study-model.js';

/** What a run's configuration makes of the shared pieces: its model, training set and job config, the same whether it runs in one thread or on rank threads. */
export function armModel(config: RunConfig, train: Dataset): tf.LayersModel {
  return buildStudyModel({
    inputShape: [...train.inputShape],
    numClasses: train.numClasses,
    seed: config.seed,
    network: config.network ?? 'cnn',
    bnPlacement: config.bnPlacement,
    activation: config.activation ?? 'relu',
    dropout: config.dropout,
    dropoutAt: config.dropoutAt ?? 'pool',
    initScale: config.initScale,
    bnMomentum: config.bnMomentum,
  });
}

/** The run's training samples: the first `trainSamples` of the budget's (seeded, shuffled) subset, or all of it. */
export function armTrainingData(config: RunConfig, train: Dataset): Dataset {
  if (config.trainSamples === undefined || config.trainSamples >= train.size) return train;
  const batch = train.batch(Int32Array.from({ length: config.trainSamples }, (_, i) => i));
  const name = `${train.name}-first-${config.trainSamples}`;
  return new ArrayDataset({ name, x: batch.x, y: batch.y, inputShape: train.inputShape, numClasses: train.numClasses });
}

/** Samples per step: the replicas' batches on rank threads, else the budget's global batch. */
export function armGlobalBatch(config: RunConfig, settings: BudgetSettings): number {
  return config.ranks === undefined ? settings.globalBatch : config.ranks.threads * config.ranks.perReplicaBatch;
}

/**
 * The run as a job config: its schedule (global batch, epochs, steps, seed) and training
 * rules (warmup). Test time uses the moving statistics training left (no recalibration),
 * as in the one-thread runs.
 */
export function armJobConfig(config: RunConfig, settings: BudgetSettings): JobConfig {
  return {
    model: 'study',
    dataset: 'study',
    epochs: config.epochs ?? settings.epochs,
    globalBatch: armGlobalBatch(config, settings),
    optimizer: config.optimizer,
    seed: config.seed,
    bnRecalibrate: 'off',
    ...(config.maxSteps === undefined ? {} : { maxSteps: config.maxSteps }),
    ...(config.lrWarmupSteps === undefined || config.lrWarmupSteps === 0 ? {} : { lrWarmupSteps: config.lrWarmupSteps }),
  };
}
