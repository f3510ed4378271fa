import * as tf from '@tensorflow/tfjs';
import { convertToSyncBN, createZooModel, type ZooOptions } from '@tfjs-ddp/nn';
import { Replica, type Shard } from '@tfjs-ddp/trainer';

/** A zoo model and its replica, ready to take training steps on one fixed batch. */
export interface StepRunner {
  /** The model the steps train (for counting its FLOPs). */
  model: tf.LayersModel;
  step(): number;
  dispose(): void;
  batch: number;
}

/** Random 28x28x1 inputs and labels, as many as `batch`. */
export function syntheticShard(batch: number): Shard {
  let seed = 12345;
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  return {
    x: Float32Array.from({ length: batch * 28 * 28 }, random),
    y: Int32Array.from({ length: batch }, (_, i) => i % 10),
    count: batch,
    indices: Int32Array.from({ length: batch }, (_, i) => i),
  };
}

/**
 * One training step of our trainer (forward, loss, backward, gradients out, SGD update) on
 * the model it trains: every trainer converts BatchNormalization to SyncBatchNormalization
 * (a group of one here), whose forward and backward run on the per-channel kernels.
 */
export async function stepRunner(name: string, batch: number, zooOptions: ZooOptions = {}): Promise<StepRunner> {
  const built = createZooModel(name, zooOptions);
  const model = await convertToSyncBN(built);
  if (model !== built) built.dispose();
  const replica = new Replica({ model, optimizer: { name: 'sgd', learningRate: 0.01 }, runSeed: 1 });
  const shard = syntheticShard(batch);
  let step = 0;
  return {
    batch,
    model: replica.model,
    step: () => {
      const started = performance.now();
      replica.trainStep(shard, step++);
      return performance.now() - started;
    },
    dispose: () => {
      replica.dispose();
      replica.model.dispose();
    },
  };
}

export interface StepTimes {
  stepMs: number[];
  /** Tensors alive after the measured steps minus before: nonzero is a leak. */
  tensorLeak: number;
}

export function timeSteps(runner: StepRunner, steps: number, warmup: number): StepTimes {
  for (let i = 0; i < warmup; i++) runner.step();
  const before = tf.memory().numTensors;
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) stepMs.push(runner.step());
  return { stepMs, tensorLeak: tf.memory().numTensors - before };
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** The value at fraction `q` of the sorted values (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN;
}
