import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { syntheticDataset } from '@tfjs-ddp/data';
import { convertToSyncBN, createZooModel, setBatchNormGroup, syncBatchNormLayers } from '@tfjs-ddp/nn';
import { readAllWeights, Replica, type Shard } from '@tfjs-ddp/trainer';
import { localBatchNormStep } from './local-bn-step.js';

before(async () => {
  await initBackend('wasm');
});

const data = syntheticDataset({ size: 64, inputShape: [8, 8, 1], numClasses: 4, seed: 5 });
function shard(from: number, to: number): Shard {
  const indices = Int32Array.from({ length: to - from }, (_, i) => from + i);
  return { ...data.batch(indices), indices };
}

async function replica(): Promise<Replica> {
  const model = await convertToSyncBN(createZooModel('cnn-bn', { inputShape: [8, 8, 1], numClasses: 4, seed: 3, bnMomentum: 0.8 }));
  return new Replica({ model, optimizer: { name: 'sgd', learningRate: 0.5 }, runSeed: 1 });
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (b[i] as number)))));
  return worst;
}

test('a chunked step equals 4 replicas with local BN: summed gradients, averaged moving statistics', async () => {
  const chunked = await replica();
  localBatchNormStep(chunked, shard(0, 16), 0, 4);

  // The reference: four replicas, one per chunk, each with its own moving statistics.
  const replicas = await Promise.all([0, 1, 2, 3].map(() => replica()));
  const summed = new Float32Array(chunked.gradientSize);
  replicas.forEach((r, k) => {
    const { grads } = r.computeGradients(shard(4 * k, 4 * k + 4), 0);
    grads.forEach((g, i) => (summed[i] = (summed[i] as number) + g));
  });
  const reference = replicas[0] as Replica;
  const layers = replicas.map((r) => syncBatchNormLayers(r.model));
  syncBatchNormLayers(reference.model).forEach((layer, l) => {
    const average = (pick: 'movingMean' | 'movingVariance'): tf.Tensor =>
      tf.tidy(() => tf.div(tf.addN(layers.map((ls) => (ls[l] as typeof layer)[pick].read())), replicas.length));
    const [mean, variance] = [average('movingMean'), average('movingVariance')];
    layer.movingMean.write(mean);
    layer.movingVariance.write(variance);
    tf.dispose([mean, variance]);
  });
  reference.applyGradients(summed, 16);
  const difference = maxDifference(readAllWeights(chunked.model), readAllWeights(reference.model));
  assert.ok(difference < 1e-5, `weights and moving statistics differ by ${difference}`);

  // And it is not the whole-batch step: chunking changed the statistics.
  const whole = await replica();
  localBatchNormStep(whole, shard(0, 16), 0, 16);
  assert.ok(maxDifference(readAllWeights(chunked.model), readAllWeights(whole.model)) > 1e-3, 'local BN over 4 differs from BN over 16');
  [chunked, whole, ...replicas].forEach((r) => r.dispose());
});

test('bnBatch >= the batch is one ordinary training step; no tensor leaks', async () => {
  const a = await replica();
  const b = await replica();
  const outcome = localBatchNormStep(a, shard(0, 12), 0, 64);
  const plain = b.trainStep(shard(0, 12), 0);
  assert.equal(outcome.count, 12);
  assert.equal(outcome.lossSum, plain.lossSum);
  assert.deepEqual(readAllWeights(a.model), readAllWeights(b.model));
  localBatchNormStep(a, shard(0, 16), 1, 2);
  const tensors = tf.memory().numTensors;
  localBatchNormStep(a, shard(16, 32), 2, 2);
  localBatchNormStep(a, shard(32, 40), 3, 3);
  assert.equal(tf.memory().numTensors, tensors, 'chunked steps leak no tensors');
  [a, b].forEach((r) => r.dispose());
});

test('refuses synchronized BN layers and a bad per-replica batch, with codes', async () => {
  const r = await replica();
  assert.throws(() => localBatchNormStep(r, shard(0, 8), 0, 0), { code: 'STUDY_ERR_BAD_OPTION' });
  setBatchNormGroup(r.model, { size: 2, rank: 0, allGather: () => undefined, allReduce: () => undefined });
  assert.throws(() => localBatchNormStep(r, shard(0, 8), 0, 4), { code: 'STUDY_ERR_BN_GROUP' });
  r.dispose();
});
