import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { EpochSampler, syntheticDataset } from '@tfjs-ddp/data';
import { convertToSyncBN, createZooModel } from '@tfjs-ddp/nn';
import { createTfjsOptimizer, type OptimizerSpec } from './optimizers.js';
import { Replica } from './replica.js';

/**
 * The replica's two-halves step (summed gradients, divided by the count at apply) must be
 * the computation tfjs's own `model.trainOnBatch` does on the same batch. Tolerance: every
 * weight, moving statistics included, within 2e-5 * (1 + |w|) after 20 steps (measured: at
 * most 4e-6, adam on mlp; bit-identical when the batch is a power of two, so the batch here
 * is 24); the two differ only in float rounding (grad of a mean vs a sum divided afterwards).
 */
const STEPS = 20;
const TOLERANCE = 2e-5;

before(async () => {
  await initBackend('wasm');
});

function maxRelativeDifference(a: tf.Tensor[], b: tf.Tensor[]): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  a.forEach((ta, i) => {
    const va = ta.dataSync();
    const vb = (b[i] as tf.Tensor).dataSync();
    assert.equal(va.length, vb.length);
    for (let j = 0; j < va.length; j++) {
      const diff = Math.abs((va[j] as number) - (vb[j] as number)) / (1 + Math.abs(vb[j] as number));
      worst = Math.max(worst, diff);
    }
  });
  return worst;
}

const CASES = [
  { modelName: 'mlp', syncBn: false },
  { modelName: 'cnn-bn', syncBn: false },
  // What training runs: BN converted to SyncBatchNormalization (a group of one here).
  { modelName: 'cnn-bn', syncBn: true },
] as const;

for (const { modelName, syncBn } of CASES) {
  for (const optimizer of [{ name: 'sgd', learningRate: 0.05 }, { name: 'momentum', learningRate: 0.02, useNesterov: true }, { name: 'adam', learningRate: 0.003 }] satisfies OptimizerSpec[]) {
    test(`${modelName}${syncBn ? ' (SyncBN)' : ''} + ${optimizer.name}: Replica equals trainOnBatch for ${STEPS} steps`, async (t) => {
      const data = syntheticDataset({ size: 512, inputShape: [8, 8, 1], numClasses: 4, seed: 7 });
      const options = { inputShape: [8, 8, 1], numClasses: 4, seed: 3, dropout: 0 };
      const built = createZooModel(modelName, options);
      const ours = syncBn ? await convertToSyncBN(built) : built;
      const reference = createZooModel(modelName, options);
      reference.compile({ optimizer: createTfjsOptimizer(optimizer), loss: 'categoricalCrossentropy' });
      assert.equal(maxRelativeDifference(ours.getWeights(), reference.getWeights()), 0, 'same seed, same initial weights');

      const replica = new Replica({ model: ours, optimizer, runSeed: 1 });
      const sampler = new EpochSampler({ size: data.size, globalBatch: 24, seed: 5 });
      const lossesOurs: number[] = [];
      const lossesRef: number[] = [];
      for (let step = 0; step < STEPS; step++) {
        const indices = sampler.batch(0, step % sampler.stepsPerEpoch);
        const batch = data.batch(indices);
        const result = replica.trainStep({ ...batch, indices }, step);
        lossesOurs.push(result.lossSum / result.count);
        const x = tf.tensor(batch.x, [batch.count, 8, 8, 1]);
        const y = tf.tidy(() => tf.oneHot(tf.tensor1d(batch.y, 'int32'), 4));
        lossesRef.push((await reference.trainOnBatch(x, y)) as number);
        tf.dispose([x, y]);
      }
      const diff = maxRelativeDifference(ours.getWeights(), reference.getWeights());
      const lossDiff = Math.max(...lossesOurs.map((l, i) => Math.abs(l - (lossesRef[i] as number)) / (1 + l)));
      t.diagnostic(`loss max diff ${lossDiff.toExponential(2)} over ${STEPS} steps, weight max diff ${diff.toExponential(2)}`);
      assert.ok(diff <= TOLERANCE, `weights differ by ${diff} (tolerance ${TOLERANCE})`);
      lossesOurs.forEach((l, i) => assert.ok(Math.abs(l - (lossesRef[i] as number)) <= 1e-4 * (1 + l), `step ${i}: loss ${l} vs ${lossesRef[i]}`));
      // The run must have learned something, or equality would prove little.
      assert.ok((lossesOurs.at(-1) as number) < (lossesOurs[0] as number), `loss did not fall: ${lossesOurs[0]} -> ${lossesOurs.at(-1)}`);
      replica.dispose();
      ours.dispose();
      reference.dispose();
    });
  }
}
