import { Command, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { BACKEND_NAMES, type BackendRequest } from '@tfjs-ddp/backend';
import { DATASET_SPECS } from '@tfjs-ddp/data';
import { BN_MODE_HELP, BN_PLACEMENTS, parseBnMode, ZOO_MODEL_NAMES, type BnPlacement } from '@tfjs-ddp/nn';
import { DEFAULT_TRAIN_CONFIG, OPTIMIZER_NAMES, type OptimizerName, type TrainConfig } from '@tfjs-ddp/trainer';
import { runLocalJob } from '@tfjs-ddp/worker';
import type { RankStepReport } from '@tfjs-ddp/protocol';
import { InvalidArgumentError } from 'commander';
import { nonNegativeInt, oneOf, positiveInt, positiveNumber, rate } from '../flags.js';
import { createLogger, LOG_LEVELS } from '../logger.js';
import { createProgressView } from '../progress-view.js';
import type { LevelWithSilent } from 'pino';

interface TrainFlags {
  model: string;
  dataset: string;
  epochs: number;
  globalBatch: number;
  optimizer: OptimizerName;
  lr?: number;
  seed: number;
  backend: BackendRequest;
  out: string;
  threads: number;
  bn: string;
  checkReplicas: number;
  bnPlacement?: BnPlacement;
  dropout?: number;
  maxSteps?: number;
  logLevel: LevelWithSilent;
  progress: boolean;
}

/** Where a step's time went, averaged over ranks (ms). */
export function meanOverRanks(reports: readonly RankStepReport[]): Record<string, number> {
  const keys = ['computeMs', 'syncBnMs', 'allReduceMs', 'applyMs', 'waitMs'] as const;
  return Object.fromEntries(keys.map((k) => [k, Math.round((reports.reduce((s, r) => s + r[k], 0) / Math.max(1, reports.length)) * 10) / 10]));
}

function bnMode(value: string): string {
  try {
    parseBnMode(value);
  } catch {
    throw new InvalidArgumentError(`allowed: ${BN_MODE_HELP}; got "${value}"`);
  }
  return value;
}

/** An option that can also come from the environment variable TFJS_DDP_<NAME>. */
export function envOption(flags: string, description: string, env: string): Option {
  return new Option(flags, description).env(`TFJS_DDP_${env}`);
}

export function trainCommand(): Command {
  const d = DEFAULT_TRAIN_CONFIG;
  return new Command('train')
    .description('train a model on this machine and save it as a plain tfjs model folder')
    .addOption(envOption('--model <name|file>', `zoo model (${ZOO_MODEL_NAMES.join(', ')}), a module exporting createModel(), or a model.json`, 'MODEL').default(d.model))
    .addOption(envOption('--dataset <spec>', `data set: ${DATASET_SPECS.join(' | ')}`, 'DATASET').default(d.dataset))
    .addOption(envOption('--epochs <n>', 'passes over the training set', 'EPOCHS').argParser(positiveInt).default(d.epochs))
    .addOption(envOption('--global-batch <n>', 'samples per step over all replicas', 'GLOBAL_BATCH').argParser(positiveInt).default(d.globalBatch))
    .addOption(envOption('--optimizer <name>', `optimizer: ${OPTIMIZER_NAMES.join(', ')}`, 'OPTIMIZER').argParser(oneOf(OPTIMIZER_NAMES)).default(d.optimizer.name))
    .addOption(envOption('--lr <rate>', `learning rate (default: ${d.optimizer.learningRate} with the default optimizer; otherwise 0.01 for sgd and momentum, 0.001 for adam)`, 'LR').argParser(positiveNumber))
    .addOption(envOption('--seed <n>', 'seed of the initial weights, epoch order and dropout masks', 'SEED').argParser(nonNegativeInt).default(d.seed))
    .addOption(envOption('--backend <name>', `tfjs backend: auto, ${BACKEND_NAMES.join(', ')} (auto takes the fastest that loads)`, 'BACKEND').argParser(oneOf(['auto', ...BACKEND_NAMES])).default('auto'))
    .addOption(envOption('--threads <n>', 'rank threads on this machine, one model replica each (default: one per core)', 'THREADS').argParser(positiveInt).default(availableParallelism(), String(availableParallelism())))
    .addOption(envOption('--bn <mode>', `batch-norm statistics: ${BN_MODE_HELP} (sync: over all ranks; sync:K: groups of K consecutive ranks; local: each rank its own)`, 'BN').argParser(bnMode).default('sync'))
    .addOption(envOption('--check-replicas <k>', 'compare a checksum of every replica\'s weights every k steps and stop if they differ (0: never)', 'CHECK_REPLICAS').argParser(nonNegativeInt).default(0))
    .addOption(envOption('--out <dir>', 'folder for the trained model (model.json + weights.bin)', 'OUT').default('runs/train'))
    .addOption(envOption('--bn-placement <where>', `zoo models: BN ${BN_PLACEMENTS.join(' | ')} the activation (default: the model's own)`, 'BN_PLACEMENT').argParser(oneOf(BN_PLACEMENTS)))
    .addOption(envOption('--dropout <rate>', "zoo models: dropout rate (default: the model's own)", 'DROPOUT').argParser(rate))
    .addOption(envOption('--max-steps <n>', 'stop after this many steps (default: all epochs)', 'MAX_STEPS').argParser(positiveInt))
    .addOption(envOption('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, 'LOG_LEVEL').argParser(oneOf(LOG_LEVELS)).default('info'))
    .option('--no-progress', 'no progress bar, log lines instead')
    .action(async (flags: TrainFlags) => {
      const logger = createLogger('train', flags.logLevel);
      const config: TrainConfig = {
        model: flags.model,
        dataset: flags.dataset,
        epochs: flags.epochs,
        globalBatch: flags.globalBatch,
        optimizer: { name: flags.optimizer, learningRate: flags.lr ?? (flags.optimizer === d.optimizer.name ? d.optimizer.learningRate : undefined) },
        seed: flags.seed,
        bnPlacement: flags.bnPlacement,
        dropout: flags.dropout,
        maxSteps: flags.maxSteps,
      };
      logger.info({ config, threads: flags.threads, bn: flags.bn }, `training ${config.model} on ${config.dataset} with ${flags.threads} rank thread(s), batch norm ${flags.bn}`);
      const view = createProgressView(logger, { tty: flags.progress && Boolean(process.stderr.isTTY) });
      const result = await runLocalJob({
        config,
        threads: flags.threads,
        bnMode: flags.bn,
        backend: flags.backend,
        outDir: flags.out,
        checkReplicasEvery: flags.checkReplicas,
        hooks: {
          onReady: (backend) => logger.info({ backend: backend.name, reason: backend.reason, attempts: backend.attempts }, `backend ${backend.name}: ${backend.reason}`),
          onStep: (p) => view.update(p),
          onEpochEnd: (epoch, evaluation) => {
            view.stop();
            logger.info({ epoch: epoch + 1, testAccuracy: evaluation.accuracy, testLoss: evaluation.loss }, `epoch ${epoch + 1}: test accuracy ${(evaluation.accuracy * 100).toFixed(2)} %`);
          },
        },
      });
      view.stop();
      logger.info(
        { testAccuracy: result.test.accuracy, testLoss: result.test.loss, steps: result.steps, samples: result.samples, elapsedSec: result.elapsedSec, samplesPerSec: result.samples / result.elapsedSec, meanStepMs: meanOverRanks(result.meanReports), model: result.modelPath },
        `done in ${result.elapsedSec.toFixed(1)} s: test accuracy ${(result.test.accuracy * 100).toFixed(2)} % on ${result.test.count} held-out samples; model saved to ${result.modelPath}`,
      );
    });
}
