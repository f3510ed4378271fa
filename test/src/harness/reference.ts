import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { cutShards, evenShardSizes, openDataset } from '@tfjs-ddp/data';
import { scheduleOf, withRunLength } from '@tfjs-ddp/job';
import { buildModel, readAllWeights, recalibrateModelBatchNorm, recalibratesAt, Replica, trainingRulesOf, type TrainConfig } from '@tfjs-ddp/trainer';

export interface ReferenceResult {
  weights: Float32Array;
  /** Mean loss of every step's global batch, before that step's update. */
  losses: number[];
}

/**
 * The reference of every equivalence test: ONE replica of the model as built (plain
 * tfjs BatchNormalization, no SyncBN layer, no threads), trained on whole global batches.
 * Returns all its weights, moving statistics included (recalibrated at the end when the
 * config recalibrates, as the job does), and the loss of every step.
 */
export async function referenceRun(config: TrainConfig): Promise<ReferenceResult> {
  return groupedReferenceRun(config, 1, 1);
}

/**
 * The reference of a job whose BN statistics are NOT those of the whole global batch:
 * `ranks` ranks each get an even shard of every global batch (cut as the job driver
 * cuts it), and every `groupSize` consecutive ranks normalize with the statistics of
 * their group's samples (sync:K; groupSize 1 is `--bn local`). Still ONE model with
 * plain BN and no collectives: for each group it runs forward/backward on the group's
 * samples alone (so BN sees exactly that group's batch) and adds up the summed
 * gradients; the update divides by the global count, because the loss is the mean
 * over the global batch: grad = sum_g |g| * meanGrad_g / sum_g |g|. Each group keeps
 * its own moving statistics (its members update theirs from the group's statistics);
 * at the end they are averaged over the ranks, as a distributed job does when saving.
 * Averaging is linear and training-mode forwards never read moving statistics, so when
 * the job averages them (every checkpoint, evaluation and the end) does not matter.
 */
export async function groupedReferenceRun(job: TrainConfig, ranks: number, groupSize: number): Promise<ReferenceResult> {
  await initBackend('wasm');
  const data = openDataset(job.dataset, job.seed);
  const schedule = scheduleOf(job, data.train.size);
  const config = withRunLength(job, schedule.totalSteps);
  const model = await buildModel(config, data);
  const replica = new Replica({ model, optimizer: config.optimizer, runSeed: config.seed, rules: trainingRulesOf(config), loss: config.loss, numClasses: data.train.numClasses });
  const groupStarts = Array.from({ length: Math.ceil(ranks / groupSize) }, (_, g) => g * groupSize);
  const moving = model.nonTrainableWeights.map((w) => w.read() as tf.Variable);
  const groupMoving = groupStarts.map(() => moving.map((v) => v.dataSync().slice() as Float32Array));
  const summed = new Float32Array(replica.gradientSize);
  const losses: number[] = [];
  for (let step = 0; step < schedule.totalSteps; step++) {
    const { indices } = schedule.at(step);
    const shards = cutShards(indices, evenShardSizes(indices.length, ranks));
    summed.fill(0);
    let lossSum = 0;
    groupStarts.forEach((start, g) => {
      const groupIndices = Int32Array.from(shards.slice(start, start + groupSize).flatMap((s) => [...s]));
      if (groupIndices.length === 0) return;
      const state = groupMoving[g] as Float32Array[];
      moving.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(state[i] as Float32Array, v.shape))));
      const result = replica.computeGradients({ ...data.train.batch(groupIndices), indices: groupIndices }, step);
      moving.forEach((v, i) => (state[i] = v.dataSync().slice() as Float32Array));
      for (let i = 0; i < summed.length; i++) summed[i] = (summed[i] as number) + (result.grads[i] as number);
      lossSum += result.lossSum;
    });
    replica.applyGradients(summed, indices.length, step);
    losses.push(lossSum / indices.length);
  }
  // Every rank of group g holds group g's moving statistics; the saved model holds their mean over ranks.
  moving.forEach((v, i) => {
    const mean = new Float32Array(v.size);
    groupStarts.forEach((start, g) => {
      const members = Math.min(groupSize, ranks - start);
      const values = (groupMoving[g] as Float32Array[])[i] as Float32Array;
      for (let j = 0; j < mean.length; j++) mean[j] = (mean[j] as number) + ((values[j] as number) * members) / ranks;
    });
    tf.tidy(() => v.assign(tf.tensor(mean, v.shape)));
  });
  // A job that recalibrates BN statistics (the default) saves them recomputed over
  // its fixed samples from the final weights; the reference does the same, on one replica.
  if (recalibratesAt(config, 'end')) recalibrateModelBatchNorm(model, data.train, config);
  const weights = readAllWeights(model);
  replica.dispose();
  model.dispose();
  return { weights, losses };
}

/** max over i of |a_i - b_i| / (1 + |b_i|). */
export function maxRelativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`buffers differ in length: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number)) / (1 + Math.abs(b[i] as number));
    if (d > worst || Number.isNaN(d)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

export interface Equivalence {
  /** max over steps of |loss - reference| / (1 + |reference|). */
  lossDiff: number;
  /** max over weights (moving statistics included) of |w - reference| / (1 + |reference|). */
  weightDiff: number;
}

/**
 * Compares a run with its reference step by step (loss) and at the end (weights), prints
 * both maxima as a test diagnostic, and returns them; `assertWithin` is the caller's.
 */
export function compareWithReference(t: TestContext, label: string, run: { weights: Float32Array; losses: number[] }, reference: ReferenceResult): Equivalence {
  if (run.losses.length !== reference.losses.length) {
    throw new RangeError(`${label}: ${run.losses.length} step losses, the reference has ${reference.losses.length}`);
  }
  const result = { lossDiff: maxRelativeDifference(run.losses, reference.losses), weightDiff: maxRelativeDifference(run.weights, reference.weights) };
  const steps = run.losses.length;
  t.diagnostic(`${label}: loss max diff ${result.lossDiff.toExponential(2)} over ${steps} steps, weight max diff ${result.weightDiff.toExponential(2)}`);
  return result;
}

/** Whether both maxima are within `tolerance`, with a message naming them. */
export function withinTolerance(label: string, e: Equivalence, tolerance: number): [boolean, string] {
  const message = `${label}: loss max diff ${e.lossDiff}, weight max diff ${e.weightDiff} (tolerance ${tolerance})`;
  return [e.lossDiff <= tolerance && e.weightDiff <= tolerance, message];
}

/**
 * The mean loss of every committed step of a coordinator's run folder (metrics.jsonl),
 * from the ranks' own reports (sum of lossSum / sum of count). A step redone after a
 * rollback keeps its last record.
 */
export function stepLosses(runDir: string): number[] {
  const byStep = new Map<number, number>();
  for (const line of readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!line.includes('"kind":"step"')) continue;
    const record = JSON.parse(line) as { step: number; ranks: { lossSum: number; count: number }[] };
    const count = record.ranks.reduce((n, r) => n + r.count, 0);
    byStep.set(record.step, record.ranks.reduce((n, r) => n + r.lossSum, 0) / count);
  }
  return [...byStep.entries()].sort((a, b) => a[0] - b[0]).map(([, loss]) => loss);
}
