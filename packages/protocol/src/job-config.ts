/**
 * Everything that defines a training run, as plain data: the coordinator sends it to
 * every worker, the local job to every rank thread, and checkpoints store it.
 */
export interface JobConfig {
  /** Zoo model name, model module (.mjs/.js) or model.json. */
  model: string;
  /** `mnist`, `synthetic`, `npy:…`, `csv:…` or `images:…`. */
  dataset: string;
  epochs: number;
  /** Samples per step over all ranks. */
  globalBatch: number;
  optimizer: OptimizerConfig;
  /** Seed of initial weights, epoch order and dropout masks. */
  seed: number;
  /** Zoo models only: BN before or after the activation, or none; undefined keeps the model's default. */
  bnPlacement?: 'before' | 'after' | 'none';
  /** Zoo models only: dropout rate; undefined keeps the model's default. */
  dropout?: number;
  /** Stop after this many steps in all; undefined trains every epoch. */
  maxSteps?: number;
  /** false: every epoch visits the samples in their order (as tfjs's `fit` with `shuffle: false`); undefined: shuffled. */
  shuffle?: boolean;
  /** When BN moving statistics are recomputed over training samples (precise BN); undefined: `epoch`. */
  bnRecalibrate?: BnRecalibrateMode;
  /** Training samples that recalibration passes over; undefined: DEFAULT_BN_RECALIBRATE_SAMPLES. */
  bnRecalibrateSamples?: number;
  /** How the learning rate changes with the global step (see @tfjs-ddp/job's lr-schedule); undefined: `constant`. */
  lrSchedule?: LrScheduleName;
  /** Linear warmup over this many first steps; undefined: none. */
  lrWarmupSteps?: number;
  /** `step`: the rate is multiplied by `lrStepFactor` every this many steps. */
  lrStepEvery?: number;
  /** `step`: the factor; undefined: DEFAULT_LR_STEP_FACTOR. */
  lrStepFactor?: number;
  /** `cosine`: the rate it ends at (absolute); undefined: 0. */
  lrMin?: number;
  /** `cosine`: the steps it falls over; undefined until a job fills in its run's total steps. */
  lrDecaySteps?: number;
  /** Scale the base rate by globalBatch / this (the linear scaling rule); undefined: no scaling. */
  lrReferenceBatch?: number;
  /** Decoupled weight decay: w <- w - lr * weightDecay * w with every update; undefined: 0. */
  weightDecay?: number;
  /** Clip the global L2 norm of the all-reduced gradients to this; undefined: no clipping. */
  clipNorm?: number;
  /** The training and evaluation loss (see LOSS_NAMES); undefined: DEFAULT_LOSS. */
  loss?: LossName;
}

/**
 * `categorical-crossentropy`: a softmax output of one unit per class. Labels are class
 * indices, one-hot inside, so it is also what Keras calls sparse categorical
 * cross-entropy: there is no second name for it. `binary-crossentropy`: one sigmoid unit,
 * two classes (labels 0/1, class 1 above 0.5). `mean-squared-error`: regression of a
 * linear or softmax output of one unit per class onto the one-hot label (per sample the
 * mean over the classes of the squared difference); predicted class: the largest output.
 */
export const LOSS_NAMES = ['categorical-crossentropy', 'binary-crossentropy', 'mean-squared-error'] as const;
export type LossName = (typeof LOSS_NAMES)[number];
export const DEFAULT_LOSS: LossName = 'categorical-crossentropy';

export const LR_SCHEDULE_NAMES = ['constant', 'step', 'cosine'] as const;
export type LrScheduleName = (typeof LR_SCHEDULE_NAMES)[number];
export const DEFAULT_LR_STEP_FACTOR = 0.1;

/**
 * `off`: test time uses the moving averages training left; `end`: they are recomputed once
 * after training, before the final evaluation and save; `epoch`: also before every
 * epoch's evaluation and every checkpoint.
 */
export const BN_RECALIBRATE_MODES = ['off', 'end', 'epoch'] as const;
export type BnRecalibrateMode = (typeof BN_RECALIBRATE_MODES)[number];
export const DEFAULT_BN_RECALIBRATE_SAMPLES = 4096;

export const OPTIMIZER_NAMES = ['sgd', 'momentum', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** An optimizer by name, with tfjs's own argument names; undefined fields take tfjs's defaults. */
export interface OptimizerConfig {
  name: OptimizerName;
  learningRate?: number;
  momentum?: number;
  useNesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}
