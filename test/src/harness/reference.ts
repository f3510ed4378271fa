import { initBackend } from '@tfjs-ddp/backend';
import { openDataset } from '@tfjs-ddp/data';
import { buildModel, readAllWeights, Replica, scheduleOf, type TrainConfig } from '@tfjs-ddp/trainer';

/**
 * The reference of every equivalence test: ONE replica of the model as built (plain
 * tfjs BatchNormalization, no SyncBN layer, no threads), trained on whole global batches.
 * Returns all its weights, moving statistics included, and the loss of every step.
 */
export async function referenceRun(config: TrainConfig): Promise<{ weights: Float32Array; losses: number[] }> {
  await initBackend('wasm');
  const data = openDataset(config.dataset, config.seed);
  const model = await buildModel(config, data);
  const replica = new Replica({ model, optimizer: config.optimizer, runSeed: config.seed });
  const schedule = scheduleOf(config, data.train.size);
  const losses: number[] = [];
  for (let step = 0; step < schedule.totalSteps; step++) {
    const { indices } = schedule.at(step);
    const result = replica.trainStep({ ...data.train.batch(indices), indices }, step);
    losses.push(result.lossSum / result.count);
  }
  const weights = readAllWeights(model);
  replica.dispose();
  model.dispose();
  return { weights, losses };
}

/** max over i of |a_i - b_i| / (1 + |b_i|). */
export function maxRelativeDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`weight buffers differ in length: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number)) / (1 + Math.abs(b[i] as number));
    if (d > worst || Number.isNaN(d)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}
