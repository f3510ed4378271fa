import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { syntheticDataset } from '@tfjs-ddp/data';
import { convertToSyncBN, createZooModel, ZOO_MODEL_NAMES, type BatchNormGroup } from '@tfjs-ddp/nn';
import { Replica, type Shard } from './replica.js';

before(async () => {
  await initBackend('wasm');
});

const data = syntheticDataset({ size: 256, inputShape: [8, 8, 1], numClasses: 4, seed: 2 });
function shard(from: number, to: number): Shard {
  const indices = Int32Array.from({ length: to - from }, (_, i) => from + i);
  return { ...data.batch(indices), indices };
}

test('summed gradients of unequal shards add up to those of the whole batch (no BN)', (t) => {
  const model = createZooModel('cnn-bn-dropout', { inputShape: [8, 8, 1], numClasses: 4, seed: 1, bnPlacement: 'none', dropout: 0.3 });
  const replica = new Replica({ model, optimizer: { name: 'sgd' }, runSeed: 9 });
  const whole = replica.computeGradients(shard(0, 40), 3);
  const parts = [shard(0, 7), shard(7, 7), shard(7, 40)].map((s) => replica.computeGradients(s, 3));
  assert.equal(parts[1]?.count, 0);
  assert.ok(parts[1]?.grads.every((g) => g === 0), 'an empty shard contributes zeros');
  const summed = new Float32Array(replica.gradientSize);
  for (const p of parts) p.grads.forEach((g, i) => (summed[i] = (summed[i] as number) + g));
  let worst = 0;
  whole.grads.forEach((g, i) => (worst = Math.max(worst, Math.abs(g - (summed[i] as number)) / (1e-3 + Math.abs(g)))));
  // Dropout is on: the masks depend only on (step, sample index), so shards agree with the whole.
  t.diagnostic(`gradient max diff ${worst.toExponential(2)} (relative to 1e-3 + |g|)`);
  assert.ok(worst < 1e-3, `relative difference ${worst}`);
  assert.ok(Math.abs(whole.lossSum - parts.reduce((s, p) => s + p.lossSum, 0)) < 1e-3 * whole.lossSum);
  assert.equal(whole.correct, parts.reduce((s, p) => s + p.correct, 0));
  replica.dispose();
});

test('gradient buffers of the wrong size are refused', () => {
  const replica = new Replica({ model: createZooModel('mlp', { inputShape: [8, 8, 1], numClasses: 4 }), optimizer: { name: 'adam' }, runSeed: 1 });
  assert.throws(() => replica.computeGradients(shard(0, 4), 0, new Float32Array(3)), { code: 'TRAINER_ERR_GRADIENT_SIZE' });
  assert.throws(() => replica.applyGradients(new Float32Array(replica.gradientSize + 1), 4), { code: 'TRAINER_ERR_GRADIENT_SIZE' });
  replica.dispose();
});

test('no tensor leaks: numTensors after step 10 equals numTensors after step 200', () => {
  for (const name of ['cnn-bn-dropout', 'resnet'] as const) {
    const model = createZooModel(name, { inputShape: [8, 8, 1], numClasses: 4, seed: 1 });
    const replica = new Replica({ model, optimizer: { name: 'adam' }, runSeed: 1 });
    let after10 = -1;
    for (let step = 0; step < 200; step++) {
      const start = (step * 8) % 248;
      replica.trainStep(shard(start, start + 8), step);
      if (step === 9) after10 = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, after10, `${name}: tensors leaked between step 10 and step 200`);
    replica.dispose();
    model.dispose();
  }
});

test('an empty shard in a SyncBN group still joins every collective and contributes zero gradients', async () => {
  for (const name of ZOO_MODEL_NAMES) {
    const calls: string[] = [];
    // Rank 1 of 2 whose partner contributes nothing: enough to run the collectives' code paths.
    const group: BatchNormGroup = {
      size: 2,
      rank: 1,
      allGather: (input, output) => {
        calls.push('allGather');
        output.fill(0);
        output.set(input, input.length);
      },
      allReduce: () => void calls.push('allReduce'),
    };
    const model = await convertToSyncBN(createZooModel(name, { inputShape: [8, 8, 1], numClasses: 4, bnPlacement: name === 'mlp' ? 'before' : undefined }), group);
    const replica = new Replica({ model, optimizer: { name: 'sgd' }, runSeed: 1 });
    assert.ok(replica.joinsCollectives());
    const result = replica.computeGradients(shard(0, 0), 0);
    const layers = model.layers.filter((l) => l.getClassName() === 'SyncBatchNormalization').length;
    assert.equal(calls.filter((c) => c === 'allGather').length, layers, `${name}: one statistics all-gather per BN layer`);
    assert.equal(calls.filter((c) => c === 'allReduce').length, layers, `${name}: one gradient-sums all-reduce per BN layer`);
    assert.equal(result.count, 0);
    assert.ok(result.grads.every((g) => g === 0), `${name}: zero gradients`);
    replica.dispose();
  }
});

test('readState/writeState: a restored replica retrains a step to the same bits (weights, BN statistics, optimizer)', async () => {
  const model = await convertToSyncBN(createZooModel('cnn-bn', { inputShape: [8, 8, 1], numClasses: 4, seed: 3 }));
  const replica = new Replica({ model, optimizer: { name: 'adam' }, runSeed: 1 });
  replica.trainStep(shard(0, 16), 0);
  const before = replica.readState();
  assert.equal(before.length, replica.stateSize);
  replica.trainStep(shard(16, 32), 1);
  replica.trainStep(shard(32, 48), 2);
  const after = replica.readState();
  replica.writeState(before);
  assert.deepEqual(replica.readState(), before);
  replica.trainStep(shard(16, 32), 1);
  replica.trainStep(shard(32, 48), 2);
  assert.deepEqual(replica.readState(), after, 'the same two steps from the restored state give the same bits');
  // Another replica of the same model takes the state over completely.
  const other = new Replica({ model: await convertToSyncBN(createZooModel('cnn-bn', { inputShape: [8, 8, 1], numClasses: 4, seed: 9 })), optimizer: { name: 'adam' }, runSeed: 1 });
  other.writeState(after);
  replica.trainStep(shard(48, 64), 3);
  other.trainStep(shard(48, 64), 3);
  assert.deepEqual(other.readState(), replica.readState());
  assert.throws(() => replica.writeState(new Float32Array(3)), { code: 'TRAINER_ERR_GRADIENT_SIZE' });
});
