import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { fit, fitDataset } from './index.js';

/**
 * The library's promise: fit over rank threads equals tfjs's own model.fit on the whole
 * batch. Both walk the samples in order (shuffle: false) in batches of 32 with a last
 * partial batch, both start from the same weights; SyncBN makes the two threads' BN see
 * the global batch, so moving statistics must match as well as the trained weights.
 */
const SEED = Number(process.env.TFJS_DDP_SEED ?? Date.now() % 100_000);
console.log(`# seed ${SEED}`);

function seededData(n: number, features: number, classes: number, seed: number): { x: tf.Tensor2D; y: Int32Array } {
  const x = tf.randomNormal([n, features], 0, 1, 'float32', seed) as tf.Tensor2D;
  const w = tf.randomNormal([features, classes], 0, 1, 'float32', seed + 1);
  const y = Int32Array.from(tf.argMax(tf.matMul(x, w), 1).dataSync());
  w.dispose();
  return { x, y };
}

/**
 * A functional model with BN between two dense layers; its initial weights fixed by the
 * seed. The first dense layer has no bias: BN cancels it, so its gradient is rounding noise,
 * which Adam scales up to whole steps (seen: 2.6e-2 apart after 12 steps, losses equal).
 */
function functionalModel(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [12] });
  const hidden = tf.layers.dense({ units: 16, useBias: false, kernelInitializer: tf.initializers.glorotNormal({ seed }) }).apply(input) as tf.SymbolicTensor;
  const normalized = tf.layers.batchNormalization().apply(hidden) as tf.SymbolicTensor;
  const relu = tf.layers.activation({ activation: 'relu' }).apply(normalized) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 1 }) }).apply(relu);
  return tf.model({ inputs: input, outputs: output as tf.SymbolicTensor });
}

function maxDifference(a: tf.Tensor[], b: tf.Tensor[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((t, i) => tf.max(tf.abs(tf.sub(t, b[i] as tf.Tensor))).dataSync()[0] as number));
}

for (const [name, optimizer] of [['SGD', () => tf.train.sgd(0.2)], ['Adam', () => tf.train.adam(0.01)]] as const) {
  test(`fit with 2 threads and SyncBN equals tfjs's model.fit on the whole batch (${name})`, async () => {
    const { x, y } = seededData(100, 12, 4, SEED);
    const reference = functionalModel(SEED);
    const ours = functionalModel(SEED);
    ours.setWeights(reference.getWeights());
    reference.compile({ optimizer: optimizer(), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const expected = await reference.fit(x, tf.oneHot(tf.tensor1d(y, 'int32'), 4), { batchSize: 32, epochs: 3, shuffle: false, verbose: 0 });
    ours.compile({ optimizer: optimizer(), loss: 'categoricalCrossentropy' });
    const history = await fit(ours, x, y, { batchSize: 32, epochs: 3, shuffle: false, threads: 2, bn: 'sync' });
    const difference = maxDifference(ours.getWeights(), reference.getWeights());
    const lossDifference = Math.max(...(expected.history.loss as number[]).map((l, i) => Math.abs(l - (history.history.loss?.[i] as number))));
    console.log(`# ${name}: max |weight difference| ${difference.toExponential(2)} over ${ours.getWeights().length} tensors; ` +
      `max |epoch loss difference| ${lossDifference.toExponential(2)}; backend ${history.params.backend}`);
    assert.ok(difference < 1e-5, `weights differ by ${difference}`);
    assert.ok(lossDifference < 1e-5, `epoch losses differ by ${lossDifference}`);
    assert.deepEqual(history.epoch, [0, 1, 2]);
    assert.deepEqual(Object.keys(history.history).sort(), ['acc', 'loss']);
  });
}

test('fitDataset reads a tf.data.Dataset; validation, callbacks, tfjs early stopping and saveBestTo', async () => {
  const { x, y } = seededData(120, 12, 4, SEED + 7);
  const batches = tf.data.zip({ xs: tf.data.array(tf.unstack(x)), ys: tf.data.array(Array.from(y)).map((v) => tf.scalar(v as number, 'int32')) }).batch(25);
  const model = functionalModel(SEED);
  const before = model.getWeights().map((w) => w.clone());
  const calls: string[] = [];
  const best = mkdtempSync(path.join(tmpdir(), 'fit-best-'));
  try {
    // A learning rate this high overshoots: the validation loss stops improving within a few epochs.
    const history = await fitDataset(model, batches, {
      epochs: 30, batchSize: 16, threads: 2, validationSplit: 0.25, optimizer: tf.train.sgd(3), saveBestTo: best,
      callbacks: [
        { onTrainBegin: () => calls.push('begin'), onEpochEnd: async (epoch) => { await new Promise((r) => setTimeout(r, 1)); calls.push(`epoch ${epoch}`); } },
        tf.callbacks.earlyStopping({ monitor: 'val_loss', patience: 2 }),
      ],
    });
    const epochs = history.epoch.length;
    const losses = history.history.val_loss as number[];
    console.log(`# stopped after ${epochs} epochs; val_loss ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    assert.equal(history.params.samples, 90, 'the last quarter is held out');
    assert.equal(history.params.stoppedEarly, true);
    assert.ok(epochs < 30);
    const bestAt = losses.indexOf(Math.min(...losses));
    assert.equal(bestAt, epochs - 3, 'it stops two epochs after the best one');
    assert.deepEqual(calls, ['begin', ...history.epoch.map((e) => `epoch ${e}`)]);
    assert.ok(maxDifference(model.getWeights(), before) > 0, 'the model handed in holds the trained weights');
    assert.ok(existsSync(path.join(best, 'model.json')));
    // The saved best model scores the best epoch's validation loss.
    const saved = await tf.loadLayersModel(tf.io.fromMemory(await readFolder(best)));
    const valX = x.slice([90, 0], [30, 12]);
    const valY = tf.oneHot(tf.tensor1d(y.slice(90), 'int32'), 4);
    const savedLoss = tf.metrics.categoricalCrossentropy(valY, saved.predict(valX) as tf.Tensor).mean().dataSync()[0] as number;
    console.log(`# best epoch ${bestAt}: val_loss ${losses[bestAt]}; the saved model's ${savedLoss}`);
    assert.ok(Math.abs(savedLoss - (losses[bestAt] as number)) < 1e-4);
  } finally {
    rmSync(best, { recursive: true, force: true });
  }
});

async function readFolder(dir: string): Promise<tf.io.ModelArtifacts> {
  const { readFileSync } = await import('node:fs');
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const weights = readFileSync(path.join(dir, 'weights.bin'));
  return {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  };
}

test('a custom layer the rank threads do not know gets an error saying how to register it; naming its module works', async () => {
  const fixture = fileURLToPath(new URL('./test-fixtures/scale-layer.js', import.meta.url));
  const { ScaleLayer } = await import('./test-fixtures/scale-layer.js');
  const build = (): tf.LayersModel =>
    tf.sequential({ layers: [tf.layers.dense({ inputShape: [12], units: 4 }), new ScaleLayer({ factor: 2 }), tf.layers.softmax()] });
  const { x, y } = seededData(40, 12, 4, SEED + 3);
  await assert.rejects(fit(build, x, y, { threads: 2 }), (error: Error & { code?: string }) => {
    console.log(`# ${error.message}`);
    return /ScaleLayer/.test(error.message) && /registerClass/.test(error.message) && /"register" option/.test(error.message);
  });
  const history = await fit(build, x, y, { threads: 2, register: [fixture] });
  assert.equal(history.epoch.length, 1);
});

test('data that does not fit the model is refused before any thread starts', async () => {
  const model = functionalModel(SEED);
  await assert.rejects(fit(model, tf.zeros([10, 11]), new Int32Array(10)), { code: 'FIT_ERR_DATA', message: /shape \[10, 11\].*\[samples, 12\]/ });
  await assert.rejects(fit(model, tf.zeros([10, 12]), new Int32Array(9)), { code: 'FIT_ERR_DATA', message: /10 samples but 9 labels/ });
  await assert.rejects(fit(model, tf.zeros([10, 12]), Int32Array.from({ length: 10 }, () => 4)), { code: 'FIT_ERR_DATA', message: /label 4/ });
  await assert.rejects(fit(model, tf.zeros([10, 12]), new Int32Array(10), { earlyStopping: { patience: 2 } }), { code: 'FIT_ERR_OPTION' });
  await assert.rejects(fit(model, tf.zeros([10, 12]), new Int32Array(10), { optimizer: tf.train.rmsprop(0.1) }), { code: 'FIT_ERR_OPTION', message: /RMSProp/ });
});

test('a callback that throws fails fit with its error once training has ended', async () => {
  const { x, y } = seededData(40, 12, 4, SEED + 5);
  const calls: number[] = [];
  const callbacks = { onEpochEnd: (epoch: number) => {
    calls.push(epoch);
    if (epoch === 0) throw new Error('the callback broke');
  } };
  await assert.rejects(fit(functionalModel(SEED), x, y, { epochs: 2, threads: 2, callbacks }), /the callback broke/);
  assert.deepEqual(calls, [0], 'no callback runs after a failed one');
});

test("the job's training rules pass through: with clipNorm tiny the trainable weights barely move", async () => {
  const { x, y } = seededData(40, 12, 4, SEED + 9);
  const model = functionalModel(SEED);
  const trainable = (): tf.Tensor[] => model.trainableWeights.map((w) => w.read().clone());
  const before = trainable();
  // 2 steps (32 + 8 samples) at rate 0.5: each moves the weights by at most 0.5 x clipNorm in L2 norm.
  await fit(model, x, y, { threads: 2, optimizer: tf.train.sgd(0.5), clipNorm: 1e-6 });
  const moved = maxDifference(trainable(), before);
  console.log(`# clipNorm 1e-6: trainable weights moved by at most ${moved.toExponential(2)}`);
  assert.ok(moved > 0 && moved <= 2 * 0.5 * 1e-6 * 1.01, `moved ${moved}`);
});
