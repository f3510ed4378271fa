import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { mulberry32 } from '@tfjs-ddp/data';
import type { LossName } from '@tfjs-ddp/protocol';
import type { OptimizerSpec } from './optimizers.js';
import { Replica, type Shard } from './replica.js';

/**
 * The fused dense step (dense-step.ts, on wasm) against the tfjs path on tfjs's pure-JS
 * `cpu` backend (model.apply + variableGrads, no kernel of ours): gradients and loss of one
 * shard on edge shapes, then whole training runs with SGD and Adam. Differences are
 * relative to the reference's largest magnitude (float32 sums in another order).
 */

before(async () => {
  await initBackend('wasm');
});

interface Case {
  name: string;
  inputShape: number[];
  /** [units, activation, useBias] per dense layer. */
  dense: [number, 'relu' | 'linear' | 'softmax', boolean][];
  loss: LossName;
  batch: number;
  /** Identity kernels and zero biases, so the softmax sees the inputs themselves (see `saturatedShard`). */
  identity?: boolean;
}

const CASES: Case[] = [
  { name: 'zoo-like mlp', inputShape: [28, 28, 1], dense: [[128, 'relu', true], [64, 'relu', true], [10, 'softmax', true]], loss: 'categorical-crossentropy', batch: 64 },
  { name: 'batch 1, 1-unit hidden', inputShape: [5, 3, 1], dense: [[7, 'relu', true], [1, 'relu', true], [3, 'softmax', true]], loss: 'categorical-crossentropy', batch: 1 },
  { name: 'odd widths, no bias, linear', inputShape: [11], dense: [[9, 'linear', false], [5, 'relu', true], [4, 'softmax', false]], loss: 'categorical-crossentropy', batch: 13 },
  { name: 'one layer', inputShape: [6], dense: [[3, 'softmax', true]], loss: 'categorical-crossentropy', batch: 5 },
  {
    name: 'saturated softmax (clipping matters)', inputShape: [4], dense: [[4, 'linear', true], [4, 'softmax', true]],
    loss: 'categorical-crossentropy', batch: 12, identity: true,
  },
  { name: 'mse, linear output', inputShape: [7], dense: [[5, 'relu', true], [3, 'linear', true]], loss: 'mean-squared-error', batch: 9 },
  { name: 'mse, softmax output', inputShape: [2, 4], dense: [[6, 'relu', false], [3, 'softmax', true]], loss: 'mean-squared-error', batch: 10 },
];

function build(c: Case, seed: number): tf.LayersModel {
  const model = tf.sequential();
  if (c.inputShape.length > 1) model.add(tf.layers.flatten({ inputShape: c.inputShape }));
  c.dense.forEach(([units, activation, useBias], i) => {
    const first = i === 0 && c.inputShape.length === 1 ? { inputShape: c.inputShape } : {};
    model.add(tf.layers.dense({ units, activation, useBias, biasInitializer: 'randomNormal', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }), ...first }));
  });
  return model;
}

/** The model on the cpu backend with the same weights: the reference. */
async function onCpu(c: Case, model: tf.LayersModel): Promise<tf.LayersModel> {
  const values = model.getWeights().map((w) => ({ data: Float32Array.from(w.dataSync()), shape: w.shape }));
  await tf.setBackend('cpu');
  const reference = build(c, 1);
  reference.setWeights(values.map((v) => tf.tensor(v.data, v.shape)));
  return reference;
}

/**
 * Rows whose label's logit is 17.5 below the others (probability ~8e-9 < eps: clipped,
 * zero gradient, where the unclipped one is ~-0.25 per unit) or 20 above (probability 1 >
 * 1 - eps: clipped too), and ordinary rows.
 */
function saturatedShard(c: Case, seed: number): Shard {
  const random = mulberry32(seed);
  const y = Int32Array.from({ length: c.batch }, (_, i) => i % 4);
  const x = new Float32Array(c.batch * 4);
  y.forEach((label, r) => {
    for (let j = 0; j < 4; j++) x[r * 4 + j] = r % 3 === 2 ? random() * 2 - 1 : 0;
    if (r % 3 === 0) x[r * 4 + label] = -17.5;
    if (r % 3 === 1) x[r * 4 + label] = 20;
  });
  return { x, y, count: c.batch, indices: Int32Array.from({ length: c.batch }, (_, i) => i) };
}

function randomShard(c: Case, seed: number): Shard {
  if (c.identity === true) return saturatedShard(c, seed);
  const random = mulberry32(seed);
  const size = c.inputShape.reduce((a, b) => a * b, 1);
  const classes = (c.dense.at(-1) as Case['dense'][number])[0];
  return {
    x: Float32Array.from({ length: c.batch * size }, () => random() * 2 - 1),
    y: Int32Array.from({ length: c.batch }, () => Math.floor(random() * classes)),
    count: c.batch,
    indices: Int32Array.from({ length: c.batch }, (_, i) => i),
  };
}

function maxDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i] as number));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
  return worst / Math.max(scale, 1e-30);
}

async function wasmModel(c: Case): Promise<tf.LayersModel> {
  await tf.setBackend('wasm');
  const model = build(c, 1);
  if (c.identity === true) model.setWeights(model.getWeights().map((w) => (w.rank === 2 ? tf.eye(w.shape[0] as number) : tf.zerosLike(w))));
  return model;
}

for (const c of CASES) {
  test(`${c.name}: fused gradients equal the tfjs path's on cpu`, async (t) => {
    const model = await wasmModel(c);
    const fused = new Replica({ model, optimizer: { name: 'sgd' }, runSeed: 1, loss: c.loss });
    assert.ok(fused.fusedDenseStack, 'a plain dense stack takes the fused step');
    const reference = await onCpu(c, model);
    const plain = new Replica({ model: reference, optimizer: { name: 'sgd' }, runSeed: 1, loss: c.loss, fused: false });
    const shard = randomShard(c, 3);
    const expected = plain.computeGradients(shard, 0);
    if (c.identity === true) {
      // The saturated case must exercise the clipping: rows whose label's probability is
      // below eps (yet not so small that the softmax's gradient would hide it) or above 1 - eps.
      const label = tf.tidy(() => {
        const p = reference.predict(tf.tensor(shard.x, [c.batch, ...c.inputShape])) as tf.Tensor;
        return Array.from(tf.sum(tf.mul(p, tf.oneHot(tf.tensor1d(shard.y, 'int32'), 4)), -1).dataSync());
      });
      const low = label.filter((v) => v > 1e-9 && v < 1e-7).length;
      const high = label.filter((v) => v > 1 - 1e-7).length;
      t.diagnostic(`${low} rows clipped at eps, ${high} at 1 - eps, of ${c.batch}`);
      assert.ok(low >= 3 && high >= 3, `clipped rows: ${low} low, ${high} high`);
    }
    await tf.setBackend('wasm');
    const actual = fused.computeGradients(shard, 0);
    const gradientDiff = maxDifference(actual.grads, expected.grads);
    const lossDiff = Math.abs(actual.lossSum - expected.lossSum) / Math.max(1, Math.abs(expected.lossSum));
    const largest = expected.grads.reduce((m, g) => Math.max(m, Math.abs(g)), 0);
    t.diagnostic(`loss ${expected.lossSum.toPrecision(6)}: |diff| ${lossDiff.toExponential(2)}; ` +
      `gradients (max |g| ${largest.toExponential(2)}) max |diff| ${gradientDiff.toExponential(2)} of max |g|`);
    assert.ok(largest > 0, 'some gradient is nonzero');
    assert.ok(lossDiff <= 1e-5, `loss ${actual.lossSum} vs ${expected.lossSum}`);
    assert.ok(gradientDiff <= 1e-5, `gradients differ by ${gradientDiff} of their scale`);
    assert.equal(actual.correct, expected.correct);
    fused.dispose();
    plain.dispose();
    model.dispose();
    reference.dispose();
  });
}

const RUNS: { c: Case; optimizer: OptimizerSpec }[] = [
  { c: CASES[0] as Case, optimizer: { name: 'sgd', learningRate: 0.1 } },
  { c: CASES[0] as Case, optimizer: { name: 'adam', learningRate: 0.003 } },
  { c: CASES[2] as Case, optimizer: { name: 'adam', learningRate: 0.01 } },
  { c: CASES[5] as Case, optimizer: { name: 'momentum', learningRate: 0.05, useNesterov: true } },
];

for (const { c, optimizer } of RUNS) {
  test(`${c.name} + ${optimizer.name}: 8 fused training steps equal the tfjs path's on cpu`, async (t) => {
    const model = await wasmModel(c);
    const fused = new Replica({ model, optimizer, runSeed: 1, loss: c.loss });
    const reference = await onCpu(c, model);
    const plain = new Replica({ model: reference, optimizer, runSeed: 1, loss: c.loss, fused: false });
    // Context: tfjs's own ops on wasm, unfused, differ from cpu by float rounding too.
    await tf.setBackend('wasm');
    const unfusedModel = build(c, 1);
    unfusedModel.setWeights(model.getWeights());
    const unfused = new Replica({ model: unfusedModel, optimizer, runSeed: 1, loss: c.loss, fused: false });
    const losses: [number, number][] = [];
    for (let step = 0; step < 8; step++) {
      const shard = randomShard(c, 100 + (step % 3));
      await tf.setBackend('cpu');
      const expected = plain.trainStep(shard, step).lossSum;
      await tf.setBackend('wasm');
      losses.push([fused.trainStep(shard, step).lossSum, expected]);
      unfused.trainStep(shard, step);
    }
    const ours = fused.readState();
    const tfjsOnWasm = unfused.readState();
    await tf.setBackend('cpu');
    const theirs = plain.readState();
    await tf.setBackend('wasm');
    const weightDiff = maxDifference(ours, theirs);
    const unfusedDiff = maxDifference(tfjsOnWasm, theirs);
    const lossDiff = Math.max(...losses.map(([a, b]) => Math.abs(a - b) / Math.max(1, Math.abs(b))));
    t.diagnostic(`after 8 steps, weights and optimizer state max |diff| of max |w|: fused ${weightDiff.toExponential(2)} ` +
      `(tfjs ops on wasm: ${unfusedDiff.toExponential(2)}); loss max |diff| ${lossDiff.toExponential(2)}`);
    assert.ok(weightDiff <= 1e-4, `weights differ by ${weightDiff}`);
    assert.ok(lossDiff <= 1e-4, `losses ${JSON.stringify(losses)}`);
    assert.ok((losses.at(-1) as [number, number])[0] < (losses[0] as [number, number])[0] * 1.5, 'training went somewhere sane');
    for (const x of [fused, plain, unfused]) x.dispose();
    for (const x of [model, reference, unfusedModel]) x.dispose();
  });
}

test('models that are no plain dense stack keep the tfjs path', async () => {
  await tf.setBackend('wasm');
  const withDropout = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: 'relu' }), tf.layers.dropout({ rate: 0.5 }),
    tf.layers.dense({ units: 2, activation: 'softmax' })] });
  const withRegularizer = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2, activation: 'softmax', kernelRegularizer: tf.regularizers.l2() })] });
  const tanhHidden = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: 'tanh' }), tf.layers.dense({ units: 2, activation: 'softmax' })] });
  const sigmoid = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 1, activation: 'sigmoid' })] });
  for (const [model, loss] of [[withDropout, undefined], [withRegularizer, undefined], [tanhHidden, undefined], [sigmoid, 'binary-crossentropy']] as const) {
    const replica = new Replica({ model, optimizer: { name: 'sgd' }, runSeed: 1, ...(loss === undefined ? {} : { loss }) });
    assert.equal(replica.fusedDenseStack, false, model.layers.map((l) => l.getClassName()).join(', '));
    replica.dispose();
    model.dispose();
  }
  const plain = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2, activation: 'softmax' })] });
  assert.equal(new Replica({ model: plain, optimizer: { name: 'sgd' }, runSeed: 1, fused: false }).fusedDenseStack, false, 'fused: false');
  plain.dispose();
});
