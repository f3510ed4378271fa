import { EpochSampler } from '@tfjs-ddp/data';
import { JobError } from './errors.js';

export interface StepScheduleOptions {
  /** Samples in the training set. */
  size: number;
  globalBatch: number;
  seed: number;
  epochs: number;
  /** Stop after this many steps in all; default: every step of every epoch. */
  maxSteps?: number;
  /** Shuffle every epoch. Default true. */
  shuffle?: boolean;
}

/** One global step of a run. */
export interface ScheduledStep {
  /** 0-based over the whole run. */
  step: number;
  epoch: number;
  stepInEpoch: number;
  /** Sample indices of the global batch. */
  indices: Int32Array;
  /** The last step of its epoch (evaluation follows). */
  endsEpoch: boolean;
}

/**
 * The steps of a training run, as a pure function of the run's options: the coordinator,
 * a local job and the one-replica reference all walk the same schedule.
 */
export class StepSchedule {
  readonly sampler: EpochSampler;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;

  constructor(options: StepScheduleOptions) {
    if (!Number.isInteger(options.epochs) || options.epochs < 1) {
      throw new JobError('JOB_ERR_BAD_OPTION', `epochs must be a positive integer, got ${options.epochs}`);
    }
    this.sampler = new EpochSampler({ size: options.size, globalBatch: options.globalBatch, seed: options.seed, shuffle: options.shuffle });
    this.stepsPerEpoch = this.sampler.stepsPerEpoch;
    const all = this.stepsPerEpoch * options.epochs;
    this.totalSteps = options.maxSteps === undefined ? all : Math.min(all, options.maxSteps);
  }

  at(step: number): ScheduledStep {
    if (!Number.isInteger(step) || step < 0 || step >= this.totalSteps) {
      throw new JobError('JOB_ERR_ARGUMENT', `step ${step} is outside [0, ${this.totalSteps})`);
    }
    const epoch = Math.floor(step / this.stepsPerEpoch);
    const stepInEpoch = step % this.stepsPerEpoch;
    return { step, epoch, stepInEpoch, indices: this.sampler.batch(epoch, stepInEpoch), endsEpoch: stepInEpoch === this.stepsPerEpoch - 1 };
  }
}

/** What of a job's configuration fixes its steps: a TrainConfig, or a study's settings. */
export interface ScheduleConfig {
  globalBatch: number;
  seed: number;
  epochs: number;
  maxSteps?: number;
  shuffle?: boolean;
}

/**
 * The steps of a job over a training set of `datasetSize` samples. The one place a job's
 * schedule is built: the coordinator, a local job, the one-replica reference and the
 * studies must walk the same steps, and would drift apart if each picked the fields.
 */
export function scheduleOf(config: ScheduleConfig, datasetSize: number): StepSchedule {
  const { globalBatch, seed, epochs, maxSteps, shuffle } = config;
  return new StepSchedule({ size: datasetSize, globalBatch, seed, epochs, maxSteps, shuffle });
}
