import type * as tf from '@tensorflow/tfjs';
import type { MonitoredMetric, ValidationMonitorOptions } from '@tfjs-ddp/job';
import { LOSS_NAMES, OPTIMIZER_NAMES, type LossName, type OptimizerConfig } from '@tfjs-ddp/protocol';
import { FitError } from './errors.js';

/** tfjs's loss names (as `model.compile` takes them) and ours. Keras's sparse loss takes class indices: ours always does. */
const LOSS_ALIASES: Readonly<Record<string, LossName>> = {
  categoricalCrossentropy: 'categorical-crossentropy',
  sparseCategoricalCrossentropy: 'categorical-crossentropy',
  binaryCrossentropy: 'binary-crossentropy',
  meanSquaredError: 'mean-squared-error',
  ...Object.fromEntries(LOSS_NAMES.map((name) => [name, name])),
};

/** The loss to train with: the option, else the compiled model's; categorical cross-entropy when neither names one. */
export function lossOf(option: string | undefined, model: tf.LayersModel): LossName {
  const compiled = (model as { loss?: unknown }).loss;
  const name = option ?? (typeof compiled === 'string' ? compiled : undefined);
  if (name === undefined) {
    if (compiled !== undefined) throw new FitError('FIT_ERR_MODEL', 'the model was compiled with a loss function or several: name one in the "loss" option');
    return 'categorical-crossentropy';
  }
  const loss = LOSS_ALIASES[name];
  if (loss === undefined) throw new FitError('FIT_ERR_OPTION', `loss "${name}" is not one of ${Object.keys(LOSS_ALIASES).join(', ')}`);
  return loss;
}

/** What an optimizer option may be: a name, our config, or a tfjs optimizer (tf.train.sgd(0.1), …). */
export type OptimizerOption = (typeof OPTIMIZER_NAMES)[number] | OptimizerConfig | tf.Optimizer;

/**
 * The optimizer as plain data (the rank threads build their own): the option, else the
 * compiled model's, else Adam. A tfjs optimizer is read through its class name and config;
 * only the kinds the rank threads implement (SGD, momentum, Adam) are taken.
 */
export function optimizerOf(option: OptimizerOption | undefined, model: tf.LayersModel): OptimizerConfig {
  const chosen = option ?? (model as { optimizer?: tf.Optimizer }).optimizer;
  if (chosen === undefined) return { name: 'adam' };
  if (typeof chosen === 'string') {
    if (!(OPTIMIZER_NAMES as readonly string[]).includes(chosen)) {
      throw new FitError('FIT_ERR_OPTION', `optimizer "${chosen}" is not one of ${OPTIMIZER_NAMES.join(', ')}`);
    }
    return { name: chosen };
  }
  if (typeof (chosen as tf.Optimizer).getClassName !== 'function') return chosen as OptimizerConfig;
  const tfjs = chosen as tf.Optimizer;
  const config = tfjs.getConfig() as Record<string, unknown>;
  const number = (key: string): number | undefined => (typeof config[key] === 'number' ? config[key] : undefined);
  const learningRate = number('learningRate');
  const base = learningRate === undefined ? {} : { learningRate };
  switch (tfjs.getClassName()) {
    case 'SGD':
      return { name: 'sgd', ...base };
    case 'Momentum':
      return { name: 'momentum', ...base, momentum: number('momentum') ?? 0, useNesterov: config.useNesterov === true };
    case 'Adam':
      return { name: 'adam', ...base, beta1: number('beta1') ?? 0.9, beta2: number('beta2') ?? 0.999, epsilon: number('epsilon') ?? 1e-7 };
    default:
      throw new FitError('FIT_ERR_OPTION', `the ${tfjs.getClassName()} optimizer is not supported by the rank threads; use SGD, momentum or Adam`);
  }
}

/** Per-epoch or per-batch numbers handed to callbacks, named as tfjs names them (loss, acc, val_loss, val_acc). */
export type Logs = Record<string, number>;

/** The callbacks fit calls, as tfjs's CustomCallbackArgs: any of them may be async. */
export interface FitCallbacks {
  onTrainBegin?: (logs?: Logs) => unknown;
  onTrainEnd?: (logs?: Logs) => unknown;
  onEpochBegin?: (epoch: number, logs?: Logs) => unknown;
  onEpochEnd?: (epoch: number, logs?: Logs) => unknown;
  onBatchEnd?: (batch: number, logs?: Logs) => unknown;
}

/** tfjs's `tf.callbacks.earlyStopping(...)` object, read by its fields. */
interface TfjsEarlyStopping {
  monitor: string;
  patience: number;
  minDelta: number;
}

function isTfjsEarlyStopping(callback: unknown): callback is TfjsEarlyStopping {
  const c = callback as Partial<TfjsEarlyStopping> & { constructor?: { name?: string } };
  return c.constructor?.name === 'EarlyStopping' && typeof c.monitor === 'string' && typeof c.patience === 'number';
}

/** tfjs's validation metric names and what the rank threads evaluate. */
const MONITORS: Readonly<Record<string, MonitoredMetric>> = { val_loss: 'loss', val_acc: 'accuracy', val_accuracy: 'accuracy' };

export interface CallbackPlan {
  callbacks: FitCallbacks[];
  /** From a tfjs EarlyStopping callback: the run stops after `patience` epochs without improvement. */
  earlyStopping?: ValidationMonitorOptions;
}

/**
 * Splits the callbacks option: tfjs's EarlyStopping becomes the job's own early stopping
 * (the run must stop on every rank at one epoch's end, which a callback in this thread
 * cannot do); every other object is called with tfjs's logs.
 */
export function planCallbacks(option: FitCallbacks | FitCallbacks[] | undefined): CallbackPlan {
  const all = option === undefined ? [] : Array.isArray(option) ? option : [option];
  const plan: CallbackPlan = { callbacks: [] };
  for (const callback of all) {
    if (!isTfjsEarlyStopping(callback)) {
      plan.callbacks.push(callback);
      continue;
    }
    const metric = MONITORS[callback.monitor];
    if (metric === undefined) {
      throw new FitError('FIT_ERR_OPTION', `early stopping can watch ${Object.keys(MONITORS).join(' or ')}, not ${callback.monitor}`);
    }
    if (plan.earlyStopping !== undefined) throw new FitError('FIT_ERR_OPTION', 'more than one EarlyStopping callback');
    plan.earlyStopping = { metric, patience: Math.max(1, callback.patience), minDelta: Math.abs(callback.minDelta) };
  }
  return plan;
}
