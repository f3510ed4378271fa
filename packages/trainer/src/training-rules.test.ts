import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { syntheticDataset } from '@tfjs-ddp/data';
import { createZooModel } from '@tfjs-ddp/nn';
import type { TrainConfig } from './train-config.js';
import { createTfjsOptimizer, type OptimizerSpec } from './optimizers.js';
import { Replica, type Shard } from './replica.js';
import { clipScale, trainingRulesOf } from './training-rules.js';

before(async () => {
  await initBackend('wasm');
});

const data = syntheticDataset({ size: 64, inputShape: [8, 8, 1], numClasses: 4, seed: 3 });
const STEPS = 6;
function shard(step: number): Shard {
  const indices = Int32Array.from({ length: 8 }, (_, i) => (step * 8 + i) % data.size);
  return { ...data.batch(indices), indices };
}

/** The rate the test expects at each step, written out (not through lr-schedule.ts): warmup 2, cosine to 0.1 * lr at step 6. */
function handRate(lr: number, step: number): number {
  const min = 0.1 * lr;
  const p = Math.max(0, (step - 2) / 4);
  const cosine = min + ((lr - min) * (1 + Math.cos(Math.PI * Math.min(1, p)))) / 2;
  return step < 2 ? (cosine * (step + 1)) / 2 : cosine;
}

interface Features { schedule: boolean; weightDecay: number; clipNorm?: number }

/**
 * The reference: tfjs's own optimizer (tf.train.sgd / adam) with its rate set by hand
 * before every step, clipping done with tf ops on the averaged gradients, and decoupled
 * decay done after tfjs's update from the weights before it: w - lr * u(g) - lr * wd * w.
 * Gradients come from a second, rule-free replica (its gradients are checked elsewhere).
 */
function reference(spec: OptimizerSpec, features: Features): { weights: Float32Array[]; clipped: number } {
  const replica = new Replica({ model: createZooModel('mlp', { inputShape: [8, 8, 1], numClasses: 4, seed: 4 }), optimizer: spec, runSeed: 1 });
  const optimizer = createTfjsOptimizer(spec);
  const lr = spec.learningRate as number;
  let clipped = 0;
  for (let step = 0; step < STEPS; step++) {
    const { grads, count } = replica.computeGradients(shard(step), step);
    const rate = features.schedule ? handRate(lr, step) : lr;
    // SGD and momentum keep -rate in a tensor that setLearningRate replaces; Adam reads its learningRate field.
    if (spec.name !== 'adam') (optimizer as tf.SGDOptimizer).setLearningRate(rate);
    else (optimizer as unknown as { learningRate: number }).learningRate = rate;
    tf.tidy(() => {
      let offset = 0;
      let gradients = replica.trainableVariables.map((v) => {
        const g = tf.div(tf.tensor(grads.subarray(offset, offset + v.size), v.shape), count);
        offset += v.size;
        return g;
      });
      if (features.clipNorm !== undefined) {
        const norm = tf.sqrt(tf.addN(gradients.map((g) => tf.sum(tf.square(g))))).dataSync()[0] as number;
        if (norm > features.clipNorm) {
          clipped++;
          gradients = gradients.map((g) => tf.mul(g, features.clipNorm as number / norm));
        }
      }
      const before = replica.trainableVariables.map((v) => v.clone());
      optimizer.applyGradients(Object.fromEntries(replica.trainableVariables.map((v, i) => [v.name, gradients[i] as tf.Tensor])));
      if (features.weightDecay > 0) {
        replica.trainableVariables.forEach((v, i) => v.assign(tf.sub(v, tf.mul(before[i] as tf.Tensor, rate * features.weightDecay))));
      }
    });
  }
  const weights = replica.trainableVariables.map((v) => v.dataSync().slice() as Float32Array);
  optimizer.dispose();
  replica.dispose();
  replica.model.dispose();
  return { weights, clipped };
}

function ours(spec: OptimizerSpec, features: Features): Float32Array[] {
  const config: TrainConfig = {
    model: 'mlp', dataset: 'synthetic', epochs: 1, globalBatch: 8, optimizer: spec, seed: 1,
    ...(features.schedule ? { lrSchedule: 'cosine', lrWarmupSteps: 2, lrDecaySteps: STEPS, lrMin: 0.1 * (spec.learningRate as number) } : {}),
    ...(features.weightDecay > 0 ? { weightDecay: features.weightDecay } : {}),
    ...(features.clipNorm === undefined ? {} : { clipNorm: features.clipNorm }),
  };
  const model = createZooModel('mlp', { inputShape: [8, 8, 1], numClasses: 4, seed: 4 });
  const replica = new Replica({ model, optimizer: spec, runSeed: 1, rules: trainingRulesOf(config) });
  for (let step = 0; step < STEPS; step++) replica.trainStep(shard(step), step);
  const weights = replica.trainableVariables.map((v) => v.dataSync().slice() as Float32Array);
  replica.dispose();
  model.dispose();
  return weights;
}

/** Every weight within 1e-6 * (1 + |w|) of the reference: float32 rounding of ops in another order, over 6 steps. */
const TOLERANCE = 1e-6;
const CASES: [string, Features][] = [
  ['cosine schedule + warmup', { schedule: true, weightDecay: 0 }],
  ['weight decay 0.05', { schedule: false, weightDecay: 0.05 }],
  ['clip norm 0.05', { schedule: false, weightDecay: 0, clipNorm: 0.05 }],
  ['all three', { schedule: true, weightDecay: 0.05, clipNorm: 0.05 }],
];

for (const spec of [{ name: 'sgd', learningRate: 0.2 }, { name: 'adam', learningRate: 0.01 }, { name: 'momentum', learningRate: 0.05 }] as OptimizerSpec[]) {
  test(`${spec.name}: the training rules equal tfjs's optimizer with a hand-set rate, hand decay and hand clipping`, (t) => {
    let leaked = 0;
    for (const [label, features] of CASES) {
      const expected = reference(spec, features);
      // Counted around ours only: tfjs's momentum optimizer does not dispose its rate tensor.
      const tensors = tf.memory().numTensors;
      const got = ours(spec, features);
      leaked += tf.memory().numTensors - tensors;
      let worst = 0;
      got.forEach((w, i) => w.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - (expected.weights[i]?.[j] as number)) / (1 + Math.abs(x))))));
      t.diagnostic(`${spec.name}, ${label}: weight max diff ${worst.toExponential(2)} over ${STEPS} steps (clipped ${expected.clipped} of them)`);
      assert.ok(worst <= TOLERANCE, `${spec.name}, ${label}: max difference ${worst}`);
      if (features.clipNorm !== undefined) assert.ok(expected.clipped > 0, 'the clip norm is small enough to clip');
    }
    assert.equal(leaked, 0, 'no tensor leaks');
  });
}

test('clipScale is min(1, maxNorm / ||g||) of the averaged gradient', () => {
  const summed = Float32Array.of(6, 8); // averaged over 2: (3, 4), norm 5
  assert.equal(clipScale(summed, 2, 10), 1);
  assert.equal(clipScale(summed, 2, 5), 1);
  assert.equal(clipScale(summed, 2, 1), 0.2);
});

test('a schedule that depends on the step refuses an update without one', () => {
  const config: TrainConfig = { model: 'mlp', dataset: 'synthetic', epochs: 1, globalBatch: 8, optimizer: { name: 'sgd' }, seed: 1, lrWarmupSteps: 3 };
  const replica = new Replica({ model: createZooModel('mlp', { inputShape: [8, 8, 1], numClasses: 4 }), optimizer: { name: 'sgd' }, runSeed: 1, rules: trainingRulesOf(config) });
  assert.throws(() => replica.applyGradients(new Float32Array(replica.gradientSize), 4), { code: 'TRAINER_ERR_STEP_ORDER' });
  replica.dispose();
});
