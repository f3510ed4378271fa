import { DEFAULT_LR_STEP_FACTOR, type JobConfig, type LrScheduleName } from '@tfjs-ddp/protocol';
import { JobError } from './errors.js';

/**
 * A learning-rate schedule, resolved: everything the rate of a step depends on. The rate
 * is a pure function of the global step (0-based), so every replica, and a run resumed
 * from a checkpoint, applies the same rate at the same step.
 */
export interface LrSchedule {
  kind: LrScheduleName;
  /** The optimizer's rate, times globalBatch / lrReferenceBatch when that is set. */
  base: number;
  warmupSteps: number;
  /** `step` only. */
  stepEvery: number;
  stepFactor: number;
  /** `cosine` only: the floor and the steps it is reached at. */
  min: number;
  decaySteps: number;
}

/**
 * The rate at global step s (0-based). With base B (Goyal et al.'s linear scaling rule:
 * B = lr * globalBatch / referenceBatch, or lr without a reference batch):
 *
 *   constant  r(s) = B
 *   step      r(s) = B * factor^floor(s / every)
 *   cosine    r(s) = min + (B - min) * (1 + cos(pi * p)) / 2,  p = clamp((s - W) / (T - W), 0, 1)
 *             with T the decay steps (the run's total steps unless set): the rate falls
 *             from B after the warmup to `min` at step T and stays there.
 *
 * and over the first W warmup steps it rises linearly: r(s) * (s + 1) / W for s < W, so
 * the first step uses B / W and step W uses the full rate.
 */
export function learningRateAt(schedule: LrSchedule, step: number): number {
  const { base, warmupSteps: w } = schedule;
  let rate = base;
  if (schedule.kind === 'step') {
    rate = base * schedule.stepFactor ** Math.floor(step / schedule.stepEvery);
  } else if (schedule.kind === 'cosine') {
    const span = Math.max(1, schedule.decaySteps - w);
    const p = Math.min(1, Math.max(0, (step - w) / span));
    rate = schedule.min + ((base - schedule.min) * (1 + Math.cos(Math.PI * p))) / 2;
  }
  return step < w ? (rate * (step + 1)) / w : rate;
}

/**
 * The schedule of a job whose optimizer's rate is `learningRate` (its default filled in by
 * the caller). A cosine schedule needs its decay steps: `withRunLength` fills them in.
 */
export function lrScheduleOf(config: JobConfig, learningRate: number): LrSchedule {
  const kind = config.lrSchedule ?? 'constant';
  const base = config.lrReferenceBatch === undefined ? learningRate : (learningRate * config.globalBatch) / config.lrReferenceBatch;
  if (kind === 'step' && config.lrStepEvery === undefined) {
    throw new JobError('JOB_ERR_BAD_OPTION', 'a step learning-rate schedule needs lrStepEvery');
  }
  if (kind === 'cosine' && config.lrDecaySteps === undefined) {
    throw new JobError('JOB_ERR_BAD_OPTION', "a cosine learning-rate schedule needs lrDecaySteps (withRunLength fills in the run's total steps)");
  }
  // A floor above the start would make the "decay" a rise: a typo (lrMin is absolute, not a fraction), not a schedule.
  if (kind === 'cosine' && (config.lrMin ?? 0) > base) {
    throw new JobError('JOB_ERR_BAD_OPTION', `lrMin ${config.lrMin} is above the rate the cosine schedule falls from (${base}); lrMin is an absolute rate`);
  }
  return {
    kind,
    base,
    warmupSteps: config.lrWarmupSteps ?? 0,
    stepEvery: config.lrStepEvery ?? 1,
    stepFactor: config.lrStepFactor ?? DEFAULT_LR_STEP_FACTOR,
    min: config.lrMin ?? 0,
    decaySteps: config.lrDecaySteps ?? 1,
  };
}

/**
 * The config with a cosine schedule's decay steps set to the run's `totalSteps` where the
 * user left them unset. The coordinator, a local job and the one-replica reference call
 * it before sending or using the config, so ranks (which may not know the data set's
 * size) and checkpoints hold the horizon: resuming with other epochs or max-steps then
 * changes it, and is refused as another job.
 */
export function withRunLength(config: JobConfig, totalSteps: number): JobConfig {
  if (config.lrSchedule !== 'cosine' || config.lrDecaySteps !== undefined) return config;
  return { ...config, lrDecaySteps: Math.max(1, totalSteps) };
}
