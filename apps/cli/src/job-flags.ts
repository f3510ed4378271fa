import type { Command, Option } from 'commander';
import { InvalidArgumentError } from 'commander';
// Flags are parsed for every command, so they import only tfjs-free modules: the subpaths
// below, never a package index that loads tfjs (`tfjs-ddp coordinator` must not load it).
import { BACKEND_NAMES, type BackendRequest } from '@tfjs-ddp/backend/backend-names';
import { DATASET_SPECS } from '@tfjs-ddp/data';
import { BN_MODE_HELP, BN_PLACEMENTS, parseBnMode, ZOO_MODEL_NAMES, type BnPlacement } from '@tfjs-ddp/nn/options';
import {
  BN_RECALIBRATE_MODES,
  DEFAULT_BN_RECALIBRATE_SAMPLES,
  DEFAULT_LOSS,
  LOSS_NAMES,
  OPTIMIZER_NAMES,
  type BnRecalibrateMode,
  type JobConfig,
  type LossName,
  type OptimizerName,
  type RankStepReport,
} from '@tfjs-ddp/protocol';
import { DEFAULT_TRAIN_CONFIG } from '@tfjs-ddp/trainer/train-config';
import type { LevelWithSilent } from 'pino';
import { envOption, nonNegativeInt, oneOf, positiveInt, positiveNumber, rate } from './flags.js';
import { LOG_LEVELS } from './logger.js';
import { addTrainingRuleOptions, trainingRulesFrom, type TrainingRuleFlags } from './training-rule-flags.js';

export { envOption };

function bnMode(value: string): string {
  try {
    parseBnMode(value);
  } catch {
    throw new InvalidArgumentError(`allowed: ${BN_MODE_HELP}; got "${value}"`);
  }
  return value;
}

/** The flags that define a training job, as `train` and `coordinator` take them. */
export interface JobFlags extends TrainingRuleFlags {
  model: string;
  dataset: string;
  epochs: number;
  globalBatch: number;
  optimizer: OptimizerName;
  loss: LossName;
  lr?: number;
  seed: number;
  bn: string;
  bnPlacement?: BnPlacement;
  dropout?: number;
  maxSteps?: number;
  bnRecalibrate: BnRecalibrateMode;
  bnRecalibrateSamples: number;
  checkReplicas: number;
  out: string;
}

export function addJobOptions(command: Command, defaultOut: string): Command {
  const d = DEFAULT_TRAIN_CONFIG;
  const modelHelp = `zoo model (${ZOO_MODEL_NAMES.join(', ')}), a module exporting createModel(), or a model.json`;
  const lrHelp = `learning rate (default: ${d.optimizer.learningRate} with the default optimizer; otherwise 0.01 for sgd and momentum, 0.001 for adam)`;
  const bnHelp = `batch-norm statistics: ${BN_MODE_HELP} (sync: over all ranks; sync:K: groups of K consecutive ranks; local: each rank its own)`;
  const lossHelp =
    'loss, and the last layer it needs: categorical-crossentropy (softmax, one unit per class; ' +
    'labels are class indices, so this is also sparse categorical cross-entropy) | binary-crossentropy (one sigmoid unit, 2 classes) | ' +
    'mean-squared-error (linear or softmax, one unit per class, against the one-hot label)';
  const checkHelp = "compare a checksum of every replica's weights every k steps and stop if they differ (0: never)";
  command
    .addOption(envOption('--model <name|file>', modelHelp, 'MODEL').default(d.model))
    .addOption(envOption('--dataset <spec>', `data set: ${DATASET_SPECS.join(' | ')}`, 'DATASET').default(d.dataset))
    .addOption(envOption('--epochs <n>', 'passes over the training set', 'EPOCHS').argParser(positiveInt).default(d.epochs))
    .addOption(envOption('--global-batch <n>', 'samples per step over all replicas', 'GLOBAL_BATCH').argParser(positiveInt).default(d.globalBatch))
    .addOption(
      envOption('--optimizer <name>', `optimizer: ${OPTIMIZER_NAMES.join(', ')}`, 'OPTIMIZER').argParser(oneOf(OPTIMIZER_NAMES)).default(d.optimizer.name),
    )
    .addOption(envOption('--loss <name>', lossHelp, 'LOSS').argParser(oneOf(LOSS_NAMES)).default(DEFAULT_LOSS))
    .addOption(envOption('--lr <rate>', lrHelp, 'LR').argParser(positiveNumber))
    .addOption(envOption('--seed <n>', 'seed of the initial weights, epoch order and dropout masks', 'SEED').argParser(nonNegativeInt).default(d.seed))
    .addOption(envOption('--bn <mode>', bnHelp, 'BN').argParser(bnMode).default('sync'))
    .addOption(
      envOption('--bn-placement <where>', `zoo models: BN ${BN_PLACEMENTS.join(' | ')} the activation (default: the model's own)`, 'BN_PLACEMENT')
        .argParser(oneOf(BN_PLACEMENTS)),
    )
    .addOption(envOption('--dropout <rate>', "zoo models: dropout rate (default: the model's own)", 'DROPOUT').argParser(rate))
    .addOption(
      envOption(
        '--bn-recalibrate <when>',
        'recompute BN moving statistics over training samples (precise BN): off | end (after training) | epoch (also before each evaluation and checkpoint)',
        'BN_RECALIBRATE',
      )
        .argParser(oneOf(BN_RECALIBRATE_MODES))
        .default('epoch'),
    )
    .addOption(
      envOption('--bn-recalibrate-samples <n>', 'training samples BN recalibration passes over', 'BN_RECALIBRATE_SAMPLES')
        .argParser(positiveInt)
        .default(DEFAULT_BN_RECALIBRATE_SAMPLES),
    )
    .addOption(envOption('--max-steps <n>', 'stop after this many steps (default: all epochs)', 'MAX_STEPS').argParser(positiveInt))
    .addOption(envOption('--check-replicas <k>', checkHelp, 'CHECK_REPLICAS').argParser(nonNegativeInt).default(0))
    .addOption(envOption('--out <dir>', 'folder for the trained model (model.json + weights.bin) and metrics.jsonl', 'OUT').default(defaultOut));
  return addTrainingRuleOptions(command);
}

export function jobConfigFrom(flags: JobFlags): JobConfig {
  const d = DEFAULT_TRAIN_CONFIG;
  return {
    model: flags.model,
    dataset: flags.dataset,
    epochs: flags.epochs,
    globalBatch: flags.globalBatch,
    // Without --lr the default optimizer keeps its tuned rate; another optimizer takes its own default.
    optimizer: { name: flags.optimizer, learningRate: flags.lr ?? (flags.optimizer === d.optimizer.name ? d.optimizer.learningRate : undefined) },
    seed: flags.seed,
    bnPlacement: flags.bnPlacement,
    dropout: flags.dropout,
    maxSteps: flags.maxSteps,
    // Left out at their defaults: configs (and checkpoints) of runs from before these flags stay equal.
    ...(flags.bnRecalibrate === 'epoch' ? {} : { bnRecalibrate: flags.bnRecalibrate }),
    ...(flags.bnRecalibrateSamples === DEFAULT_BN_RECALIBRATE_SAMPLES ? {} : { bnRecalibrateSamples: flags.bnRecalibrateSamples }),
    ...trainingRulesFrom(flags),
    ...(flags.loss === DEFAULT_LOSS ? {} : { loss: flags.loss }),
  };
}


export interface CommonFlags {
  logLevel: LevelWithSilent;
  progress: boolean;
}

export function addLogLevelOption(command: Command): Command {
  const option = envOption('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, 'LOG_LEVEL');
  return command.addOption(option.argParser(oneOf(LOG_LEVELS)).default('info'));
}

export function addCommonOptions(command: Command): Command {
  return addLogLevelOption(command).option('--no-progress', 'no progress bar, log lines instead');
}

export function backendOption(): Option {
  const help = `tfjs backend: auto, ${BACKEND_NAMES.join(', ')} (auto takes the fastest that loads; webgpu only when named)`;
  const option = envOption('--backend <name>', help, 'BACKEND');
  return option.argParser(oneOf<BackendRequest>(['auto', ...BACKEND_NAMES])).default('auto');
}

/** Where a step's time went, averaged over ranks (ms). */
export function meanOverRanks(reports: readonly RankStepReport[]): Record<string, number> {
  const keys = ['computeMs', 'syncBnMs', 'allReduceMs', 'applyMs', 'waitMs'] as const;
  const mean = (k: (typeof keys)[number]): number => reports.reduce((s, r) => s + r[k], 0) / Math.max(1, reports.length);
  return Object.fromEntries(keys.map((k) => [k, Math.round(mean(k) * 10) / 10]));
}

/** --allow-cpu: a GPU build of the native backend that finds no GPU may train on the CPU instead of failing. */
export function allowCpuOption(): Option {
  const help = 'let @tensorflow/tfjs-node-gpu train on the CPU when it finds no GPU (without it, that is an error: no silent slowdown)';
  return envOption('--allow-cpu', help, 'ALLOW_CPU').default(false);
}
