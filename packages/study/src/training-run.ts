import { scheduleOf } from '@tfjs-ddp/job';
import { convertToSyncBN, syncBatchNormLayers } from '@tfjs-ddp/nn';
import { evaluate, Replica, TrainerError, trainingRulesOf, type Evaluation } from '@tfjs-ddp/trainer';
import { evaluateWithBatchStatistics } from './batch-statistics.js';
import type { BudgetSettings } from './budget.js';
import { localBatchNormStep } from './local-bn-step.js';
import { classifyRun, COLLAPSE_STEPS } from './outcome.js';
import { predictedClassCounts } from './prediction-counts.js';
import type { CurvePoint, RunResult, Score } from './results.js';
import type { RunRequest } from './run-config.js';
import { armJobConfig, armModel, armTrainingData } from './run-setup.js';
import type { StudyData } from './study-data.js';

/** JSON has no NaN: a diverged model's loss is recorded as null. */
function score(evaluation: Score | Evaluation): Score {
  return { accuracy: evaluation.accuracy, loss: evaluation.loss !== null && Number.isFinite(evaluation.loss) ? evaluation.loss : null };
}

/** Steps after which the learning curve is measured: `points` of them, evenly spaced, the last at the end. */
export function curveSteps(totalSteps: number, points: number): Set<number> {
  const steps = new Set<number>();
  for (let k = 1; k <= points; k++) steps.add(Math.max(1, Math.round((k * totalSteps) / points)));
  return steps;
}

/**
 * Trains the study's model for one configuration and seed on `data.train` and measures
 * it: test accuracy with the moving statistics, and whatever extras the request asks.
 * A run whose loss becomes non-finite stops there and is marked diverged; one that ends no
 * better than a uniform guess, or predicting one class for every test sample, collapsed.
 */
export async function trainRun(request: RunRequest, data: StudyData, settings: BudgetSettings): Promise<RunResult> {
  const started = performance.now();
  const { config, extras } = request;
  const train = armTrainingData(config, data.train);
  const job = armJobConfig(config, settings);
  const built = armModel(config, train);
  // SyncBN in a group of one is plain BN (with a faster backward), and its moving
  // statistics are what the local-BN simulation reads and writes.
  const model = await convertToSyncBN(built);
  if (model !== built) built.dispose();
  const hasBatchNorm = syncBatchNormLayers(model).length > 0;
  const replica = new Replica({ model, optimizer: config.optimizer, runSeed: config.seed, rules: trainingRulesOf(job) });
  const schedule = scheduleOf(job, train.size);
  // The last epoch the schedule reaches (a step limit can end it before the configured epochs).
  const lastEpochIndex = schedule.totalSteps === 0 ? 0 : schedule.at(schedule.totalSteps - 1).epoch;
  const measureAt = extras.curve ? curveSteps(schedule.totalSteps, settings.curvePoints) : new Set<number>();
  const curve: CurvePoint[] = [];
  const lastEpoch = { lossSum: 0, count: 0 };
  const lastStepLosses: number[] = [];
  let stepsCompleted = 0;
  let diverged = false;
  try {
    for (let step = 0; step < schedule.totalSteps; step++) {
      const { indices, epoch } = schedule.at(step);
      const outcome = localBatchNormStep(replica, { ...train.batch(indices), indices }, step, config.bnBatch);
      stepsCompleted = step + 1;
      lastStepLosses.push(outcome.lossSum / outcome.count);
      if (lastStepLosses.length > COLLAPSE_STEPS) lastStepLosses.shift();
      if (epoch === lastEpochIndex) {
        lastEpoch.lossSum += outcome.lossSum;
        lastEpoch.count += outcome.count;
      }
      if (measureAt.has(stepsCompleted)) {
        curve.push({
          step: stepsCompleted,
          moving: score(evaluate(model, data.curveTest)),
          ...(hasBatchNorm ? { batch: score(evaluateWithBatchStatistics(model, data.curveTest, settings.globalBatch)) } : {}),
        });
      }
    }
  } catch (error) {
    if (!(error instanceof TrainerError && error.code === 'TRAINER_ERR_NOT_FINITE')) throw error;
    diverged = true;
  }
  const test = score(evaluate(model, data.test));
  const trainScore = extras.trainScore === true ? score(evaluate(model, train)) : undefined;
  const predicted = predictedClassCounts(model, data.test);
  const classified = classifyRun({ nonFiniteLoss: diverged, lastStepLosses, predictedClassCounts: predicted, testLoss: test.loss });
  const batchStatistics =
    extras.testTimeStatistics && hasBatchNorm
      ? settings.testBatchSizes.map((batchSize) => ({ batchSize, ...score(evaluateWithBatchStatistics(model, data.test, batchSize)) }))
      : [];
  replica.dispose();
  model.dispose();
  return {
    key: request.key,
    config,
    steps: schedule.totalSteps,
    stepsCompleted,
    diverged,
    outcome: classified.outcome,
    outcomeReason: classified.reason,
    lastStepLosses: lastStepLosses.map((loss) => (Number.isFinite(loss) ? loss : null)),
    predictedClassCounts: predicted,
    trainLoss: lastEpoch.count === 0 ? null : lastEpoch.lossSum / lastEpoch.count,
    test,
    ...(trainScore === undefined ? {} : { trainScore }),
    curve,
    batchStatistics,
    elapsedSec: (performance.now() - started) / 1000,
  };
}
