import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { mulberry32 } from '@tfjs-ddp/data';
import { createOptimizer } from './optimizers.js';
import { OPTIMIZER_TEST_SPECS } from './optimizer-test-specs.js';

/**
 * `applySummed` on wasm (one C pass per variable, in place) against `apply` of the mean
 * through tfjs ops (which optimizers.test.ts holds to tfjs's own optimizers bit for bit):
 * every variable and every state variable must be equal to the bit, with and without
 * weight decay and clipping.
 */

before(async () => {
  await initBackend('wasm');
});

const SPECS = OPTIMIZER_TEST_SPECS;
const SHAPES = [[3, 5], [7], [2, 2, 3], [1]];
const COUNT = 24;

/** Variables that own their data (refCount 1), as a model's are. */
function variables(initial: Float32Array[]): tf.Variable[] {
  return initial.map((v, i) => tf.tidy(() => tf.tensor(v, SHAPES[i]).variable()));
}

for (const spec of SPECS) {
  for (const [weightDecay, scale] of [[0, 1], [0.01, 0.7]] as const) {
    test(`${JSON.stringify(spec)}, weight decay ${weightDecay}, clip scale ${scale}: applySummed has apply's bits over 10 steps`, () => {
      const random = mulberry32(11);
      const sizes = SHAPES.map((s) => s.reduce((a, b) => a * b, 1));
      const initial = sizes.map((n) => Float32Array.from({ length: n }, () => random() - 0.5));
      const fused = variables(initial);
      const reference = variables(initial);
      const fusedOptimizer = createOptimizer(spec, fused, weightDecay);
      const referenceOptimizer = createOptimizer(spec, reference, weightDecay);
      const total = sizes.reduce((a, b) => a + b, 0);
      for (let step = 0; step < 10; step++) {
        const learningRate = (spec.learningRate as number) * (1 - step / 20);
        const summed = Float32Array.from({ length: total }, () => (random() * 2 - 1) * COUNT);
        assert.equal(fusedOptimizer.applySummed(summed, COUNT, scale, learningRate), true, 'the fused update runs on wasm');
        tf.tidy(() => {
          let offset = 0;
          const gradients = SHAPES.map((shape, i) => {
            const mean = tf.div(tf.tensor(summed.subarray(offset, offset + (sizes[i] as number)), shape), COUNT);
            offset += sizes[i] as number;
            return scale < 1 ? tf.mul(mean, scale) : mean;
          });
          referenceOptimizer.apply(gradients, learningRate);
        });
      }
      fused.forEach((v, i) => assert.deepEqual(v.dataSync(), reference[i]?.dataSync(), `variable ${i}`));
      fusedOptimizer.state.forEach((v, i) => assert.deepEqual(v.dataSync(), referenceOptimizer.state[i]?.dataSync(), `state ${i}`));
      fusedOptimizer.dispose();
      referenceOptimizer.dispose();
      tf.dispose([...fused, ...reference]);
    });
  }
}

test('applySummed declines, changing nothing, off wasm or when a state variable shares its data', async () => {
  const initial = SHAPES.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)).fill(0.5));
  const owned = variables(initial);
  const optimizer = createOptimizer({ name: 'adam' }, owned);
  const summed = new Float32Array(owned.reduce((n, v) => n + v.size, 0)).fill(1);
  // The state is updated in place; a weight is not (a clone of it may stay as it was).
  const sharedState = tf.clone(optimizer.state[3] as tf.Variable);
  assert.equal(optimizer.applySummed(summed, 4, 1), false, 'a clone shares a moment’s data');
  sharedState.dispose();
  await tf.setBackend('cpu');
  assert.equal(optimizer.applySummed(summed, 4, 1), false, 'cpu backend');
  await tf.setBackend('wasm');
  owned.forEach((v, i) => assert.deepEqual(v.dataSync(), initial[i], `variable ${i} unchanged`));
  const weightClone = tf.clone(owned[0] as tf.Variable);
  assert.equal(optimizer.applySummed(summed, 4, 1), true);
  assert.notDeepEqual((owned[0] as tf.Variable).dataSync(), initial[0]);
  assert.deepEqual(weightClone.dataSync(), initial[0], 'a tensor sharing the old weight keeps it');
  weightClone.dispose();
  optimizer.dispose();
  tf.dispose(owned);
});

test('after a fused update, predictions use the new weights (tfjs-backend-wasm caches operators with weights baked in)', () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [6], units: 5, activation: 'relu' }), tf.layers.dense({ units: 3, activation: 'softmax' })] });
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = createOptimizer({ name: 'sgd', learningRate: 0.5 }, variables);
  const x = tf.tensor(Float32Array.from({ length: 4 * 6 }, (_, i) => Math.sin(i)), [4, 6]);
  const predict = (): Float32Array => tf.tidy(() => Float32Array.from((model.predict(x) as tf.Tensor).dataSync()));
  const before = predict();
  const summed = Float32Array.from({ length: variables.reduce((n, v) => n + v.size, 0) }, (_, i) => Math.cos(i));
  assert.equal(optimizer.applySummed(summed, 2, 1), true);
  const after = predict();
  // The reference: the same weights through plain ops (no cached operator).
  const expected = tf.tidy(() => {
    const [k1, b1, k2, b2] = variables.map((v) => tf.tensor(v.dataSync(), v.shape));
    return Float32Array.from(tf.softmax(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, k1 as tf.Tensor), b1 as tf.Tensor)), k2 as tf.Tensor), b2 as tf.Tensor)).dataSync());
  });
  let worst = 0;
  expected.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (after[i] as number)))));
  assert.notDeepEqual(after, before, 'the update changed the predictions');
  assert.ok(worst < 1e-5, `predictions after the update differ from the updated weights' by ${worst}`);
  optimizer.dispose();
  x.dispose();
  model.dispose();
});
