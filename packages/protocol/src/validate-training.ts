import { protocolError } from './errors.js';
import { has, int, num, oneOf, type Fields } from './fields.js';
import { LR_SCHEDULE_NAMES, type JobConfig } from './job-config.js';

/** The JobConfig keys of the training rules below (the learning-rate schedule, weight decay, clipping). */
export const TRAINING_RULE_KEYS = [
  'lrSchedule', 'lrWarmupSteps', 'lrStepEvery', 'lrStepFactor', 'lrMin', 'lrDecaySteps', 'lrReferenceBatch', 'weightDecay', 'clipNorm',
] as const;

const MAX_STEPS = Number.MAX_SAFE_INTEGER;
const MAX_SAMPLES = 1 << 24;

/**
 * Reads the training-rule fields of a job configuration into `config`. Bounds: a decay
 * of more than the whole weight per unit rate (weightDecay > 1) or a step factor above 1
 * is a typo, not a schedule; `step` without its interval would silently be `constant`.
 */
export function readTrainingRules(h: Fields, config: JobConfig): void {
  if (has(h, 'lrSchedule')) config.lrSchedule = oneOf(h, 'lrSchedule', LR_SCHEDULE_NAMES);
  if (has(h, 'lrWarmupSteps')) config.lrWarmupSteps = int(h, 'lrWarmupSteps', 0, MAX_STEPS);
  if (has(h, 'lrStepEvery')) config.lrStepEvery = int(h, 'lrStepEvery', 1, MAX_STEPS);
  if (has(h, 'lrStepFactor')) config.lrStepFactor = num(h, 'lrStepFactor', Number.MIN_VALUE, 1);
  if (has(h, 'lrMin')) config.lrMin = num(h, 'lrMin', 0, 1e6);
  if (has(h, 'lrDecaySteps')) config.lrDecaySteps = int(h, 'lrDecaySteps', 1, MAX_STEPS);
  if (has(h, 'lrReferenceBatch')) config.lrReferenceBatch = int(h, 'lrReferenceBatch', 1, MAX_SAMPLES);
  if (has(h, 'weightDecay')) config.weightDecay = num(h, 'weightDecay', 0, 1);
  if (has(h, 'clipNorm')) config.clipNorm = num(h, 'clipNorm', Number.MIN_VALUE, 1e12);
  if (config.lrSchedule === 'step' && config.lrStepEvery === undefined) {
    throw protocolError('PROTOCOL_ERR_FIELD', 'lrSchedule "step" needs lrStepEvery');
  }
}
