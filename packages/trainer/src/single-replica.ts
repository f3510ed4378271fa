import type * as tf from '@tensorflow/tfjs';
import { EpochSampler, openDataset, type DatasetPair } from '@tfjs-ddp/data';
import { convertToSyncBN } from '@tfjs-ddp/nn';
import { evaluate, type Evaluation } from './evaluate.js';
import { saveModel } from './model-files.js';
import { loadModel } from './model-source.js';
import { ProgressTracker, type StepProgress } from './progress.js';
import { Replica } from './replica.js';
import type { TrainConfig } from './train-config.js';

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

/** Number of steps a config runs over a data set of `size` samples. */
export function plannedSteps(config: TrainConfig, size: number): { stepsPerEpoch: number; totalSteps: number } {
  const stepsPerEpoch = Math.ceil(size / config.globalBatch);
  const all = stepsPerEpoch * config.epochs;
  return { stepsPerEpoch, totalSteps: config.maxSteps === undefined ? all : Math.min(all, config.maxSteps) };
}

/** Trains one replica on whole global batches in this thread: the one-rank reference. */
export async function trainSingleReplica(config: TrainConfig, hooks: TrainHooks = {}, outDir?: string): Promise<TrainResult> {
  const data = openDataset(config.dataset, config.seed);
  // SyncBN over a group of one is plain BN with a faster (Tile-free) backward.
  const model = await convertToSyncBN(await buildModel(config, data));
  const replica = new Replica({ model, optimizer: config.optimizer, runSeed: config.seed });
  const sampler = new EpochSampler({ size: data.train.size, globalBatch: config.globalBatch, seed: config.seed });
  const { stepsPerEpoch, totalSteps } = plannedSteps(config, data.train.size);
  const tracker = new ProgressTracker(stepsPerEpoch, totalSteps);
  let step = 0;
  let samples = 0;
  const started = performance.now();
  for (let epoch = 0; epoch < config.epochs && step < totalSteps; epoch++) {
    for (let s = 0; s < stepsPerEpoch && step < totalSteps; s++) {
      const indices = sampler.batch(epoch, s);
      const batch = data.train.batch(indices);
      const result = replica.trainStep({ ...batch, indices }, step);
      step++;
      samples += result.count;
      hooks.onStep?.(tracker.record(epoch, s, result.lossSum, result.correct, result.count));
    }
    hooks.onEpochEnd?.(epoch, evaluate(model, data.test));
  }
  const test = evaluate(model, data.test);
  const modelPath = outDir === undefined ? undefined : await saveModel(model, outDir);
  replica.dispose();
  return { steps: step, samples, elapsedSec: (performance.now() - started) / 1000, test, modelPath, model };
}
