import { learningRateAt, lrScheduleOf, type LrSchedule } from '@tfjs-ddp/job';
import { learningRateOf } from './optimizers.js';
import type { TrainConfig } from './train-config.js';

/** What a job adds to the optimizer's update rule: the same on every replica, a function of the global step only. */
export interface TrainingRules {
  /** The learning rate of every step; undefined: the optimizer's own rate at every step. */
  lrSchedule?: LrSchedule;
  /** Decoupled weight decay (w <- w - lr * wd * w with each update); 0: none. */
  weightDecay: number;
  /** Clip the global L2 norm of the averaged gradients to this; undefined: no clipping. */
  clipNorm?: number;
}

/** The rules of a job config (a cosine schedule's horizon filled in by `withRunLength` first). */
export function trainingRulesOf(config: TrainConfig): TrainingRules {
  return {
    lrSchedule: lrScheduleOf(config, learningRateOf(config.optimizer)),
    weightDecay: config.weightDecay ?? 0,
    ...(config.clipNorm === undefined ? {} : { clipNorm: config.clipNorm }),
  };
}

/** The rate of global step `step` under `rules` (undefined: the optimizer's own). */
export function rateAt(rules: TrainingRules, step: number): number | undefined {
  return rules.lrSchedule === undefined ? undefined : learningRateAt(rules.lrSchedule, step);
}

/**
 * The factor min(1, maxNorm / ||g||) that clips the averaged gradient g = summed /
 * globalCount to L2 norm `maxNorm`, ||g|| over every trainable variable together. It
 * runs after the all-reduce on the reduced buffer, which every replica holds bit for bit,
 * and sums in float64 in a fixed order: every replica computes the same factor.
 */
export function clipScale(summed: Float32Array, globalCount: number, maxNorm: number): number {
  let squares = 0;
  for (let i = 0; i < summed.length; i++) {
    const g = (summed[i] as number) / globalCount;
    squares += g * g;
  }
  const norm = Math.sqrt(squares);
  return norm > maxNorm ? maxNorm / norm : 1;
}
