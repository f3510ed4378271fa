import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { syntheticDataset } from '@tfjs-ddp/data';
import { convertToSyncBN, createZooModel } from '@tfjs-ddp/nn';
import { evaluate, readAllWeights, Replica } from '@tfjs-ddp/trainer';
import { evaluateWithBatchStatistics } from './batch-statistics.js';

before(async () => {
  await initBackend('wasm');
});

const data = syntheticDataset({ size: 40, inputShape: [8, 8, 1], numClasses: 4, seed: 7 });

async function trainedModel(): Promise<tf.LayersModel> {
  const model = await convertToSyncBN(createZooModel('cnn-bn', { inputShape: [8, 8, 1], numClasses: 4, seed: 2 }));
  const replica = new Replica({ model, optimizer: { name: 'adam', learningRate: 0.01 }, runSeed: 1 });
  const indices = Int32Array.from({ length: 40 }, (_, i) => i);
  for (let step = 0; step < 3; step++) replica.trainStep({ ...data.batch(indices), indices }, step);
  replica.dispose();
  return model;
}

test("scores each batch with its own statistics, as BN's training mode computes them", async () => {
  const model = await trainedModel();
  const score = evaluateWithBatchStatistics(model, data, 40);
  const batch = data.batch(Int32Array.from({ length: 40 }, (_, i) => i));
  const expected = tf.tidy(() => {
    const p = model.apply(tf.tensor(batch.x, [40, 8, 8, 1]), { training: true }) as tf.Tensor;
    return tf.mean(tf.cast(tf.equal(tf.argMax(p, -1), tf.tensor1d(batch.y, 'int32')), 'float32')).dataSync()[0] as number;
  });
  assert.ok(Math.abs(score.accuracy - expected) < 1e-6, `${score.accuracy} against ${expected}`);
  const moving = evaluate(model, data);
  const single = evaluateWithBatchStatistics(model, data, 1);
  assert.ok(score.loss !== null && single.loss !== null);
  assert.ok(Math.abs(score.loss - moving.loss) > 1e-3, 'batch statistics are not the moving ones after 3 steps');
  assert.ok(Math.abs(score.loss - single.loss) > 1e-3, 'a batch of 1 has other statistics than a batch of 40');
  model.dispose();
});

test('leaves the moving statistics and the tensor count as they were', async () => {
  const model = await trainedModel();
  const weights = readAllWeights(model);
  const tensors = tf.memory().numTensors;
  evaluateWithBatchStatistics(model, data, 8);
  evaluateWithBatchStatistics(model, data, 1);
  assert.deepEqual(readAllWeights(model), weights);
  assert.equal(tf.memory().numTensors, tensors);
  model.dispose();
});
