import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset, IndexViewDataset, type Dataset } from '@tfjs-ddp/data';
import { SerialTasks, ValidationMonitor, writeModelFolder, type ValidationMonitorOptions } from '@tfjs-ddp/job';
import { TRAINING_RULE_KEYS, type BnRecalibrateMode, type JobConfig } from '@tfjs-ddp/protocol';
import { loadModelBytes, modelArtifacts } from '@tfjs-ddp/trainer';
import { runLocalJob } from '@tfjs-ddp/worker';
import { FitError } from './errors.js';
import { arraysToDataset, batchesToDataset, modelShapeOf } from './fit-data.js';
import type { BatchSource, InputData, LabelData, ModelShape } from './fit-data.js';
import { lossOf, optimizerOf, planCallbacks, type FitCallbacks, type Logs, type OptimizerOption } from './fit-settings.js';

/** The job's training rules, under the names the CLI's job configuration uses (see the README). */
export type TrainingRuleOptions = Partial<Pick<JobConfig, (typeof TRAINING_RULE_KEYS)[number]>>;

export interface FitOptions extends TrainingRuleOptions {
  /** Default 1. */
  epochs?: number;
  /** The global batch: samples per step over all rank threads together (each takes a shard). Default 32, as tfjs. */
  batchSize?: number;
  /** Rank threads, each holding one replica. Default: one per core. */
  threads?: number;
  /** Batch norm over the global batch (`sync`), over each thread's shard (`local`), or over groups of K threads (`sync:K`). Default `sync`. */
  bn?: string;
  /** Default: the compiled model's optimizer, else Adam. A tfjs optimizer is read by its kind and config. */
  optimizer?: OptimizerOption;
  /** Default: the compiled model's loss, else categorical cross-entropy (labels are class indices or one-hot rows). */
  loss?: string;
  /** Held-out samples evaluated after every epoch. */
  validationData?: [InputData, LabelData];
  /** Instead: hold out this share of the samples, the last ones before shuffling (as tfjs does). */
  validationSplit?: number;
  /** Visit the samples in a new seeded order every epoch. Default true. */
  shuffle?: boolean;
  /** Seed of the epoch order and the dropout masks. Default 1. */
  seed?: number;
  /** tfjs-style callbacks; tfjs's `tf.callbacks.earlyStopping(…)` stops every rank at one epoch's end. */
  callbacks?: FitCallbacks | FitCallbacks[];
  /** Early stopping on the validation metric, instead of the tfjs callback. */
  earlyStopping?: ValidationMonitorOptions;
  /** Write the model of the epoch with the best validation metric (earlyStopping's, else the loss) to this folder. */
  saveBestTo?: string;
  /** BN moving statistics: kept as training leaves them (`off`, as tfjs), or recomputed at the `end` or every `epoch`. Default `off`. */
  bnRecalibrate?: BnRecalibrateMode;
  /** Modules that register the model's custom classes (paths or file URLs); every rank thread imports them first. */
  register?: string[];
  /** Default `auto`: wasm with several threads. */
  backend?: 'auto' | 'wasm' | 'cpu';
}

/** What `fit` returns: tfjs's History (epoch, history, params) and the trained model. */
export interface History {
  epoch: number[];
  history: Record<string, number[]>;
  params: { epochs: number; batchSize: number; samples: number; threads: number; bn: string; backend: string; stoppedEarly: boolean };
  /** The model handed in (its weights now the trained ones), or the factory's. */
  model: tf.LayersModel;
}

type ModelSource = tf.LayersModel | (() => tf.LayersModel | Promise<tf.LayersModel>);

/**
 * Trains `model` data-parallel over rank threads, as `model.fit(x, y, options)` trains it
 * alone: every step's `batchSize` samples are cut into one shard per thread, gradients are
 * all-reduced, batch norm sees the whole global batch. The model's weights are replaced
 * by the trained ones. Labels are class indices (or one-hot rows).
 */
export async function fit(model: ModelSource, x: InputData, y: LabelData, options: FitOptions = {}): Promise<History> {
  const built = await modelOf(model);
  const shape = modelShapeOf(built);
  const all = arraysToDataset('training data', x, y, shape);
  return train(built, shape, all, options);
}

/** As `fit`, from a `tf.data.Dataset` of `{ xs, ys }` batches (or an iterable of them), read whole once. */
export async function fitDataset(model: ModelSource, dataset: BatchSource, options: FitOptions = {}): Promise<History> {
  const built = await modelOf(model);
  const shape = modelShapeOf(built);
  return train(built, shape, await batchesToDataset('training data', dataset, shape), options);
}

async function modelOf(source: ModelSource): Promise<tf.LayersModel> {
  const model = typeof source === 'function' ? await source() : source;
  if (!(model instanceof tf.LayersModel)) throw new FitError('FIT_ERR_MODEL', 'fit takes a tf.LayersModel (tf.model, tf.sequential) or a function giving one');
  return model;
}

function splitOf(all: ArrayDataset, options: FitOptions, shape: ModelShape): { train: Dataset; validation?: Dataset } {
  if (options.validationData !== undefined) {
    const [vx, vy] = options.validationData;
    return { train: all, validation: arraysToDataset('validation data', vx, vy, shape) };
  }
  const share = options.validationSplit;
  if (share === undefined || share === 0) return { train: all };
  if (!(share > 0 && share < 1)) throw new FitError('FIT_ERR_OPTION', `validationSplit must be in (0, 1), got ${share}`);
  const at = Math.floor(all.size * (1 - share));
  if (at < 1 || at >= all.size) throw new FitError('FIT_ERR_OPTION', `validationSplit ${share} of ${all.size} samples leaves no training or validation sample`);
  const range = (start: number, end: number): Int32Array => Int32Array.from({ length: end - start }, (_, i) => start + i);
  return { train: new IndexViewDataset('training data', all, range(0, at)), validation: new IndexViewDataset('validation split', all, range(at, all.size)) };
}

function configOf(model: tf.LayersModel, options: FitOptions): JobConfig {
  const rules = Object.fromEntries(TRAINING_RULE_KEYS.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]));
  return {
    model: `(the model handed to fit: ${model.name})`,
    dataset: '(the data handed to fit)',
    epochs: options.epochs ?? 1,
    globalBatch: options.batchSize ?? 32,
    optimizer: optimizerOf(options.optimizer, model),
    seed: options.seed ?? 1,
    loss: lossOf(options.loss, model),
    bnRecalibrate: options.bnRecalibrate ?? 'off',
    ...(options.shuffle === false ? { shuffle: false } : {}),
    ...rules,
  };
}

/** Calls every callback's `method` in order, awaiting each (tfjs's callbacks may be async). */
async function call(callbacks: FitCallbacks[], method: keyof FitCallbacks, ...args: [number, Logs] | [Logs]): Promise<void> {
  for (const callback of callbacks) await (callback[method] as ((...a: unknown[]) => unknown) | undefined)?.apply(callback, args);
}

async function train(model: tf.LayersModel, shape: ModelShape, all: ArrayDataset, options: FitOptions): Promise<History> {
  const { train: trainSet, validation } = splitOf(all, options, shape);
  const plan = planCallbacks(options.callbacks);
  const stopping = options.earlyStopping ?? plan.earlyStopping;
  if ((stopping !== undefined || options.saveBestTo !== undefined) && validation === undefined) {
    throw new FitError('FIT_ERR_OPTION', 'early stopping and saveBestTo judge epochs by the validation metric: give validationData or validationSplit');
  }
  const config = configOf(model, options);
  const threads = options.threads ?? availableParallelism();
  const bn = options.bn ?? 'sync';
  // No held-out data: the epochs' evaluations are of nothing (count 0), and no val_ logs appear.
  const test: Dataset = validation ?? new ArrayDataset({ name: 'no validation', x: new Float32Array(0), y: new Int32Array(0), ...shape });
  const history: History = {
    epoch: [],
    history: {},
    params: { epochs: config.epochs, batchSize: config.globalBatch, samples: trainSet.size, threads, bn, backend: '', stoppedEarly: false },
    model,
  };
  const record = (logs: Logs): void => {
    for (const [key, value] of Object.entries(logs)) (history.history[key] ??= []).push(value);
  };
  // Callbacks and best-model writes run in order, outside the driver's step loop: a slow
  // callback delays nothing but the next one; the first failure fails fit once training ends.
  const tasks = new SerialTasks();
  const later = (method: keyof FitCallbacks, ...args: [number, Logs] | [Logs]): void => tasks.add(() => call(plan.callbacks, method, ...args));
  later('onTrainBegin', {});
  const epoch = { lossSum: 0, correct: 0, count: 0 };
  const bytes = await modelArtifacts(model);
  const saveBest = (dir: string) => (_: number, best: { modelJson: string; weights: Uint8Array }) => {
    tasks.add(() => writeModelFolder(dir, best.modelJson, best.weights));
  };
  const result = await runLocalJob({
    config,
    data: { train: trainSet, test },
    model: bytes,
    register: (options.register ?? []).map((m) => (m.startsWith('file:') ? m : pathToFileURL(path.resolve(m)).href)),
    threads,
    bnMode: bn,
    backend: options.backend ?? 'auto',
    returnModel: true,
    ...(stopping === undefined && options.saveBestTo === undefined ? {} : { monitor: new ValidationMonitor(stopping ?? {}) }),
    ...(options.saveBestTo === undefined ? {} : { onBestModel: saveBest(options.saveBestTo) }),
    hooks: {
      onReady: (backend) => {
        history.params.backend = backend.name;
      },
      onStep: (progress, reports) => {
        if (progress.stepInEpoch === 1) later('onEpochBegin', progress.epoch, {});
        for (const r of reports) {
          epoch.lossSum += r.lossSum;
          epoch.correct += r.correct;
          epoch.count += r.count;
        }
        later('onBatchEnd', progress.stepInEpoch - 1, { loss: progress.loss, acc: progress.accuracy });
      },
      onEpochEnd: (index, evaluation) => {
        const logs: Logs = { loss: epoch.lossSum / epoch.count, acc: epoch.correct / epoch.count };
        if (evaluation.count > 0) Object.assign(logs, { val_loss: evaluation.loss, val_acc: evaluation.accuracy });
        Object.assign(epoch, { lossSum: 0, correct: 0, count: 0 });
        history.epoch.push(index);
        record(logs);
        later('onEpochEnd', index, logs);
      },
    },
  });
  history.params.stoppedEarly = result.stoppedEarly;
  if (result.model === undefined) throw new FitError('FIT_ERR_MODEL', 'rank 0 did not return the trained model');
  const trained = await loadModelBytes(result.model, 'the trained model');
  model.setWeights(trained.getWeights());
  trained.dispose();
  later('onTrainEnd', {});
  await tasks.done();
  return history;
}
