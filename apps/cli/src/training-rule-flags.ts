import type { Command } from 'commander';
import { DEFAULT_LR_STEP_FACTOR, LR_SCHEDULE_NAMES, type JobConfig, type LrScheduleName } from '@tfjs-ddp/protocol';
import { decay, envOption, nonNegativeInt, nonNegativeNumber, oneOf, positiveInt, positiveNumber, unitFactor } from './flags.js';

/** The flags of a job's training rules: learning-rate schedule, weight decay, gradient clipping. */
export interface TrainingRuleFlags {
  lrSchedule: LrScheduleName;
  lrWarmup: number;
  lrStepEvery?: number;
  lrStepFactor: number;
  lrMin: number;
  lrDecaySteps?: number;
  lrReferenceBatch?: number;
  weightDecay: number;
  clipNorm?: number;
}

const HELP = {
  schedule: 'learning rate over the steps: constant | step (times --lr-step-factor every --lr-step-every steps) | cosine (to --lr-min)',
  warmup: 'raise the rate linearly over the first steps',
  stepEvery: 'step schedule: steps between two rate cuts (default: none; needed with --lr-schedule step)',
  stepFactor: 'step schedule: the factor of each cut, in (0, 1]',
  min: 'cosine schedule: the rate it ends at',
  decaySteps: "cosine schedule: the steps it falls over (default: the run's total steps)",
  referenceBatch: 'scale the rate by global batch / n, the linear scaling rule (default: no scaling)',
  weightDecay: 'decoupled weight decay (AdamW-style): w -= lr * wd * w with every update',
  clipNorm: 'clip the global L2 norm of the averaged gradients to this (default: no clipping)',
};

export function addTrainingRuleOptions(command: Command): Command {
  return command
    .addOption(envOption('--lr-schedule <name>', HELP.schedule, 'LR_SCHEDULE').argParser(oneOf(LR_SCHEDULE_NAMES)).default('constant'))
    .addOption(envOption('--lr-warmup <steps>', HELP.warmup, 'LR_WARMUP').argParser(nonNegativeInt).default(0))
    .addOption(envOption('--lr-step-every <steps>', HELP.stepEvery, 'LR_STEP_EVERY').argParser(positiveInt))
    .addOption(envOption('--lr-step-factor <f>', HELP.stepFactor, 'LR_STEP_FACTOR').argParser(unitFactor).default(DEFAULT_LR_STEP_FACTOR))
    .addOption(envOption('--lr-min <rate>', HELP.min, 'LR_MIN').argParser(nonNegativeNumber).default(0))
    .addOption(envOption('--lr-decay-steps <n>', HELP.decaySteps, 'LR_DECAY_STEPS').argParser(positiveInt))
    .addOption(envOption('--lr-reference-batch <n>', HELP.referenceBatch, 'LR_REFERENCE_BATCH').argParser(positiveInt))
    .addOption(envOption('--weight-decay <wd>', HELP.weightDecay, 'WEIGHT_DECAY').argParser(decay).default(0))
    .addOption(envOption('--clip-norm <norm>', HELP.clipNorm, 'CLIP_NORM').argParser(positiveNumber))
    .hook('preAction', (cmd) => {
      // A step schedule without its interval would silently train at a constant rate.
      const flags = cmd.opts<Partial<TrainingRuleFlags>>();
      if (flags.lrSchedule === 'step' && flags.lrStepEvery === undefined) cmd.error('error: --lr-schedule step needs --lr-step-every <steps>', { exitCode: 2 });
    });
}

/** The training-rule fields, each left out at its default (a run without these flags keeps its old config). */
export function trainingRulesFrom(flags: TrainingRuleFlags): Partial<JobConfig> {
  return {
    ...(flags.lrSchedule === 'constant' ? {} : { lrSchedule: flags.lrSchedule }),
    ...(flags.lrWarmup === 0 ? {} : { lrWarmupSteps: flags.lrWarmup }),
    ...(flags.lrStepEvery === undefined ? {} : { lrStepEvery: flags.lrStepEvery }),
    ...(flags.lrStepFactor === DEFAULT_LR_STEP_FACTOR ? {} : { lrStepFactor: flags.lrStepFactor }),
    ...(flags.lrMin === 0 ? {} : { lrMin: flags.lrMin }),
    ...(flags.lrDecaySteps === undefined ? {} : { lrDecaySteps: flags.lrDecaySteps }),
    ...(flags.lrReferenceBatch === undefined ? {} : { lrReferenceBatch: flags.lrReferenceBatch }),
    ...(flags.weightDecay === 0 ? {} : { weightDecay: flags.weightDecay }),
    ...(flags.clipNorm === undefined ? {} : { clipNorm: flags.clipNorm }),
  };
}
