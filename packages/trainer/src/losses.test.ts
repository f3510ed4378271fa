import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { syntheticDataset } from '@tfjs-ddp/data';
import type { LossName } from '@tfjs-ddp/protocol';
import { evaluate } from './evaluate.js';
import { predictedClasses } from './losses.js';
import { Replica } from './replica.js';

/**
 * Each loss, on a small user-built model whose last layer fits it, trains as tfjs's own
 * `model.compile({ loss, optimizer: sgd })` + `trainOnBatch` does, and evaluates as
 * `model.evaluate` does. Same tolerance as replica-trainonbatch.test.ts (float rounding
 * only: the grad of a sum divided afterwards vs the grad of a mean).
 */
const STEPS = 8;
const TOLERANCE = 2e-5;
const INPUT = [4, 4, 1];

before(async () => {
  await initBackend('wasm');
});

/** Two hidden relu units... then the given last layer; seeded, so two builds have equal weights. */
function smallModel(units: number, activation: 'softmax' | 'sigmoid' | 'linear' | 'relu'): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: INPUT }),
      tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }) }),
      tf.layers.dense({ units, activation, kernelInitializer: tf.initializers.glorotUniform({ seed: 12 }) }),
    ],
  });
}

function maxDifference(a: tf.Tensor[], b: tf.Tensor[]): number {
  let worst = 0;
  a.forEach((ta, i) => {
    const va = ta.dataSync();
    const vb = (b[i] as tf.Tensor).dataSync();
    for (let j = 0; j < va.length; j++) worst = Math.max(worst, Math.abs((va[j] as number) - (vb[j] as number)) / (1 + Math.abs(vb[j] as number)));
  });
  return worst;
}

const CASES: { loss: LossName; tfjsLoss: string; numClasses: number; units: number; activation: 'softmax' | 'sigmoid' | 'linear' }[] = [
  { loss: 'categorical-crossentropy', tfjsLoss: 'categoricalCrossentropy', numClasses: 3, units: 3, activation: 'softmax' },
  { loss: 'binary-crossentropy', tfjsLoss: 'binaryCrossentropy', numClasses: 2, units: 1, activation: 'sigmoid' },
  { loss: 'mean-squared-error', tfjsLoss: 'meanSquaredError', numClasses: 3, units: 3, activation: 'linear' },
  { loss: 'mean-squared-error', tfjsLoss: 'meanSquaredError', numClasses: 3, units: 3, activation: 'softmax' },
];

for (const { loss, tfjsLoss, numClasses, units, activation } of CASES) {
  test(`${loss} (${units} ${activation} unit(s)): Replica + evaluate equal tfjs's compile({ loss: '${tfjsLoss}' }) for ${STEPS} sgd steps`, async (t) => {
    const data = syntheticDataset({ size: 96, inputShape: INPUT, numClasses, seed: 7 });
    const ours = smallModel(units, activation);
    const reference = smallModel(units, activation);
    reference.compile({ optimizer: tf.train.sgd(0.1), loss: tfjsLoss });
    const before = tf.memory().numTensors;
    const replica = new Replica({ model: ours, optimizer: { name: 'sgd', learningRate: 0.1 }, runSeed: 1, loss, numClasses });
    const target = (labels: Int32Array): tf.Tensor =>
      tf.tidy(() => (loss === 'binary-crossentropy' ? tf.tensor2d(Float32Array.from(labels), [labels.length, 1]) : tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses)));
    let lossDiff = 0;
    const losses: number[] = [];
    for (let step = 0; step < STEPS; step++) {
      // Batches of 24 (not a power of two: the rounding of the two paths differs).
      const indices = Int32Array.from({ length: 24 }, (_, i) => (step * 24 + i) % data.size);
      const batch = data.batch(indices);
      const result = replica.trainStep({ ...batch, indices }, step);
      const x = tf.tensor(batch.x, [batch.count, ...INPUT]);
      const y = target(batch.y);
      const theirs = (await reference.trainOnBatch(x, y)) as number;
      tf.dispose([x, y]);
      const mine = result.lossSum / result.count;
      losses.push(mine);
      lossDiff = Math.max(lossDiff, Math.abs(mine - theirs) / (1 + theirs));
    }
    const weightDiff = maxDifference(ours.getWeights(), reference.getWeights());
    const all = data.batch(Int32Array.from({ length: data.size }, (_, i) => i));
    const x = tf.tensor(all.x, [all.count, ...INPUT]);
    const y = target(all.y);
    const theirEval = (reference.evaluate(x, y) as tf.Scalar);
    const evalDiff = Math.abs(evaluate(ours, data, loss).loss - theirEval.dataSync()[0]!);
    tf.dispose([x, y, theirEval]);
    t.diagnostic(`max diffs: loss ${lossDiff.toExponential(2)}, weights ${weightDiff.toExponential(2)}, evaluation loss ${evalDiff.toExponential(2)}`);
    assert.ok(weightDiff <= TOLERANCE, `weights differ by ${weightDiff}`);
    assert.ok(lossDiff <= 1e-5, `losses differ by ${lossDiff}`);
    assert.ok(evalDiff <= 1e-5, `evaluation losses differ by ${evalDiff}`);
    assert.ok((losses.at(-1) as number) < (losses[0] as number), `loss did not fall: ${losses[0]} -> ${losses.at(-1)}`);
    replica.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor leaked by the steps');
    ours.dispose();
    reference.dispose();
  });
}

test('binary-crossentropy: accuracy thresholds the sigmoid at 0.5', () => {
  const classes = tf.tidy(() => predictedClasses('binary-crossentropy', tf.tensor2d([0.2, 0.45, 0.5, 0.55, 0.9], [5, 1])).arraySync());
  assert.deepEqual(classes, [0, 0, 0, 1, 1], 'class 1 strictly above 0.5, as tfjs binaryAccuracy');
  const data = syntheticDataset({ size: 64, inputShape: INPUT, numClasses: 2, seed: 3 });
  const model = smallModel(1, 'sigmoid');
  const all = data.batch(Int32Array.from({ length: data.size }, (_, i) => i));
  const p = tf.tidy(() => (model.predict(tf.tensor(all.x, [all.count, ...INPUT])) as tf.Tensor).dataSync());
  const expected = all.y.filter((label, i) => ((p[i] as number) > 0.5 ? 1 : 0) === label).length / data.size;
  assert.equal(evaluate(model, data, 'binary-crossentropy').accuracy, expected);
  model.dispose();
});

test('a model whose last layer does not fit the loss is refused when the replica is built, naming the layer and what the loss needs', () => {
  const refusals: [tf.LayersModel, LossName, number, RegExp][] = [
    // The zoo's softmax head under binary cross-entropy.
    [smallModel(2, 'softmax'), 'binary-crossentropy', 2, /loss binary-crossentropy needs .*one sigmoid unit.*"dense_Dense\d+" \(Dense\) with activation softmax and 2 unit\(s\)/],
    // A relu head under categorical cross-entropy (the default loss).
    [smallModel(3, 'relu'), 'categorical-crossentropy', 3, /softmax with one unit per class.*activation relu and 3 unit\(s\)/],
    // Softmax, but not one unit per class.
    [smallModel(3, 'softmax'), 'categorical-crossentropy', 4, /on 4 classes.*activation softmax and 3 unit\(s\)/],
    // One sigmoid unit, but three classes.
    [smallModel(1, 'sigmoid'), 'binary-crossentropy', 3, /on 3 classes/],
    [smallModel(3, 'sigmoid'), 'mean-squared-error', 3, /linear or softmax/],
  ];
  for (const [model, loss, numClasses, message] of refusals) {
    assert.throws(() => new Replica({ model, optimizer: { name: 'sgd' }, runSeed: 1, loss, numClasses }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'TRAINER_ERR_LOSS_MISMATCH');
      assert.match(error.message, message);
      return true;
    });
    model.dispose();
  }
});
