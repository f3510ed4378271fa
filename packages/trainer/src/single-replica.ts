import type * as tf from '@tensorflow/tfjs';
import { openDataset, type DatasetPair } from '@tfjs-ddp/data';
import { ProgressTracker, scheduleOf, withRunLength, type StepProgress } from '@tfjs-ddp/job';
import { convertToSyncBN } from '@tfjs-ddp/nn';
import { recalibrateModelBatchNorm, recalibratesAt } from './bn-recalibration.js';
import { evaluate, type Evaluation } from './evaluate.js';
import { saveModel } from './model-files.js';
import { loadModel } from './model-source.js';
import { Replica } from './replica.js';
import type { TrainConfig } from './train-config.js';
import { trainingRulesOf } from './training-rules.js';

export interface TrainHooks {
  onStep?: (progress: StepProgress) => void;
  onEpochEnd?: (epoch: number, evaluation: Evaluation) => void;
}

export interface TrainResult {
  steps: number;
  samples: number;
  elapsedSec: number;
  test: Evaluation;
  /** Where the model was saved, if an output folder was given. */
  modelPath?: string;
  model: tf.LayersModel;
}

/** Builds the model a config names, for a data set. */
export function buildModel(config: TrainConfig, data: DatasetPair): Promise<tf.LayersModel> {
  return loadModel(config.model, {
    inputShape: [...data.train.inputShape],
    numClasses: data.train.numClasses,
    seed: config.seed,
    bnPlacement: config.bnPlacement,
    dropout: config.dropout,
  });
}

/** Trains one replica on whole global batches in this thread: the one-rank reference. */
export async function trainSingleReplica(job: TrainConfig, hooks: TrainHooks = {}, outDir?: string): Promise<TrainResult> {
  const data = openDataset(job.dataset, job.seed);
  const config = withRunLength(job, scheduleOf(job, data.train.size).totalSteps);
  // SyncBN over a group of one is plain BN with a faster (Tile-free) backward.
  const model = await convertToSyncBN(await buildModel(config, data));
  const { optimizer, seed: runSeed, loss } = config;
  const replica = new Replica({ model, optimizer, runSeed, rules: trainingRulesOf(config), loss, numClasses: data.train.numClasses });
  const schedule = scheduleOf(config, data.train.size);
  const tracker = new ProgressTracker(schedule.stepsPerEpoch, schedule.totalSteps);
  let samples = 0;
  const started = performance.now();
  for (let step = 0; step < schedule.totalSteps; step++) {
    const { epoch, stepInEpoch, indices, endsEpoch } = schedule.at(step);
    const result = replica.trainStep({ ...data.train.batch(indices), indices }, step);
    samples += result.count;
    hooks.onStep?.(tracker.record(epoch, stepInEpoch, result.lossSum, result.correct, result.count));
    if (endsEpoch) {
      const bnRecalibration = recalibratesAt(config, 'epoch') ? recalibrateModelBatchNorm(model, data.train, config) : undefined;
      hooks.onEpochEnd?.(epoch, { ...evaluate(model, data.test, config.loss), ...(bnRecalibration === undefined ? {} : { bnRecalibration }) });
    }
  }
  // After an epoch's recalibration and no step since, the statistics are already those of these weights.
  const lastEndsEpoch = schedule.totalSteps > 0 && schedule.at(schedule.totalSteps - 1).endsEpoch && recalibratesAt(config, 'epoch');
  const bnRecalibration = recalibratesAt(config, 'end') && !lastEndsEpoch ? recalibrateModelBatchNorm(model, data.train, config) : undefined;
  const test = { ...evaluate(model, data.test, config.loss), ...(bnRecalibration === undefined ? {} : { bnRecalibration }) };
  const modelPath = outDir === undefined ? undefined : await saveModel(model, outDir);
  replica.dispose();
  return { steps: schedule.totalSteps, samples, elapsedSec: (performance.now() - started) / 1000, test, modelPath, model };
}
