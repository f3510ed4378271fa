import * as tf from '@tensorflow/tfjs';
import { hashSeeds, mulberry32, type Dataset } from '@tfjs-ddp/data';
import { readsAsyncOnly } from '@tfjs-ddp/backend';
import { LOCAL_BATCH_NORM_GROUP, recalibrateBatchNorm, recalibrateBatchNormAsync, type RecalibrationChunks, type RecalibrationGroup } from '@tfjs-ddp/nn';
import { DEFAULT_BN_RECALIBRATE_SAMPLES, type BnRecalibrateMode, type JobConfig } from '@tfjs-ddp/protocol';

/**
 * Precise BN for a training job: which training samples, when, and the
 * report. The layer-level pass and its exact merge are nn's `recalibrateBatchNorm`.
 *
 * The samples are a fixed seeded subset of the training set (the first N of a
 * permutation drawn from the run's seed), not the batches a rank saw lately: they are the
 * same at every epoch, after a resume from a checkpoint and after an elastic regroup, so
 * the recalibrated statistics depend only on the weights, and a resumed run stays
 * bit-identical to an uninterrupted one. They are cut into chunks of RECALIBRATION_CHUNK
 * samples in that order; the chunks (not the ranks) define the merge, so any number of
 * ranks gives the same bits.
 */

/** Samples per chunk: every rank forwards whole chunks; the merge order is chunk order. */
export const RECALIBRATION_CHUNK = 256;
/** Mixed into the run's seed, so the subset is not the first epoch's first batches. */
const SUBSET_SALT = 0x0b5eca1b;

/** When statistics may be recalibrated: before an epoch's evaluation, a checkpoint, or the final evaluation and save. */
export type RecalibrationPoint = 'epoch' | 'checkpoint' | 'end';

/** What one recalibration did; rank 0 attaches it to its evaluation for the log and metrics. */
export interface BnRecalibration {
  /** Wall time of the whole pass on this rank, all-reduces included. */
  ms: number;
  /** Training samples the statistics were taken over (all ranks together). */
  samples: number;
  /** Batch-norm layers recalibrated. */
  layers: number;
  /** Why nothing was recalibrated, when nothing was. */
  skipped?: string;
}

export function bnRecalibrateMode(config: JobConfig): BnRecalibrateMode {
  return config.bnRecalibrate ?? 'epoch';
}

/** Whether `config` recalibrates at `point`. */
export function recalibratesAt(config: JobConfig, point: RecalibrationPoint): boolean {
  const mode = bnRecalibrateMode(config);
  return mode === 'epoch' || (mode === 'end' && point === 'end');
}

/** The training-set indices recalibration passes over: min(samples, size) of them, a pure function of the seed. */
export function recalibrationIndices(trainSize: number, samples: number, seed: number): Int32Array {
  const n = Math.min(samples, trainSize);
  const order = Int32Array.from({ length: trainSize }, (_, i) => i);
  const random = mulberry32(hashSeeds(seed, SUBSET_SALT));
  // The first n steps of a Fisher-Yates shuffle: a uniform n-subset in a random order.
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (trainSize - i));
    const picked = order[j] as number;
    order[j] = order[i] as number;
    order[i] = picked;
  }
  return order.slice(0, n);
}

/**
 * Recomputes the BN moving statistics of `model` over the job's recalibration samples of
 * `train`, merged over `group` (every rank of the job; all must call it together, also
 * those that hold no data set: `train` must then be undefined on every rank, and
 * nothing is done). The weights are untouched; the statistics end up equal on every rank.
 */
export function recalibrateModelBatchNorm(
  model: tf.LayersModel,
  train: Dataset | undefined,
  config: JobConfig,
  group: RecalibrationGroup = LOCAL_BATCH_NORM_GROUP,
): BnRecalibration {
  const started = performance.now();
  if (train === undefined) return NO_TRAINING_SET;
  const { chunks, samples } = recalibrationChunks(train, config);
  return { ms: performance.now() - started, samples, layers: recalibrateBatchNorm(model, chunks, group) };
}

/** `recalibrateModelBatchNorm` on every backend, webgpu included (nn's `recalibrateBatchNormAsync`). */
export async function recalibrateModelBatchNormAsync(
  model: tf.LayersModel,
  train: Dataset | undefined,
  config: JobConfig,
  group: RecalibrationGroup = LOCAL_BATCH_NORM_GROUP,
): Promise<BnRecalibration> {
  const started = performance.now();
  if (train === undefined) return NO_TRAINING_SET;
  const { chunks, samples } = recalibrationChunks(train, config);
  // Other backends keep the synchronous pass: the same bits as before, no awaits per chunk.
  const layers = readsAsyncOnly(tf.getBackend()) ? await recalibrateBatchNormAsync(model, chunks, group) : recalibrateBatchNorm(model, chunks, group);
  return { ms: performance.now() - started, samples, layers };
}

// The data source is the same for every rank of a job, so every rank skips together.
const NO_TRAINING_SET: BnRecalibration = { ms: 0, samples: 0, layers: 0, skipped: 'the ranks hold no training set (--data-source coordinator)' };

function recalibrationChunks(train: Dataset, config: JobConfig): { chunks: RecalibrationChunks; samples: number } {
  const indices = recalibrationIndices(train.size, config.bnRecalibrateSamples ?? DEFAULT_BN_RECALIBRATE_SAMPLES, config.seed);
  const inputShape = [...train.inputShape];
  const chunks: RecalibrationChunks = {
    count: Math.ceil(indices.length / RECALIBRATION_CHUNK),
    input: (chunk) => {
      const batch = train.batch(indices.subarray(chunk * RECALIBRATION_CHUNK, (chunk + 1) * RECALIBRATION_CHUNK));
      return tf.tensor(batch.x, [batch.count, ...inputShape], 'float32');
    },
  };
  return { chunks, samples: indices.length };
}

/** The recalibration report an evaluation carries, if it carries one (it travels through untyped hooks). */
export function bnRecalibrationOf(evaluation: object): BnRecalibration | undefined {
  const value = (evaluation as { bnRecalibration?: unknown }).bnRecalibration;
  return typeof value === 'object' && value !== null && typeof (value as BnRecalibration).ms === 'number' ? (value as BnRecalibration) : undefined;
}

/** One line for the log: what ran and what it cost. */
export function describeBnRecalibration(report: BnRecalibration): string {
  if (report.skipped !== undefined) return `BN statistics not recalibrated: ${report.skipped}`;
  return `BN statistics of ${report.layers} layer(s) recalibrated over ${report.samples} training samples in ${(report.ms / 1000).toFixed(2)} s`;
}
