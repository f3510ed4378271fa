import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { mulberry32, normalFrom } from '@tfjs-ddp/data';
import { createZooModel } from '../zoo/index.js';
import { LOCAL_BATCH_NORM_GROUP } from './batch-norm-group.js';
import { convertToSyncBN } from './convert.js';
import { recalibrateBatchNorm, type RecalibrationChunks } from './recalibrate.js';

before(async () => {
  await initBackend('wasm');
});

const SAMPLES = 600;
const CHUNK = 256;
const INPUT_SHAPE = [8, 8, 1];

/** Inputs far from zero mean and unit variance, so the initial moving statistics (0, 1) are far off. */
function samples(seed: number): Float32Array {
  const normal = normalFrom(mulberry32(seed));
  return Float32Array.from({ length: SAMPLES * 64 }, (_, i) => 3 + 2 * normal() + (i % 7));
}

function chunksOf(x: Float32Array): RecalibrationChunks {
  const size = INPUT_SHAPE.reduce((a, b) => a * b, 1);
  return {
    count: Math.ceil(SAMPLES / CHUNK),
    input: (c) => {
      const n = Math.min(CHUNK, SAMPLES - c * CHUNK);
      return tf.tensor(x.subarray(c * CHUNK * size, (c * CHUNK + n) * size), [n, ...INPUT_SHAPE]);
    },
  };
}

function batchNormLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((l) => l.getClassName() === 'BatchNormalization' || l.getClassName() === 'SyncBatchNormalization');
}

/**
 * float64 mean and biased variance, per channel (last axis), of every BN layer's input over
 * all samples, in one multi-output inference pass of the model as it is: independent of
 * the chunks, the merge and the layer-by-layer order of the code under test.
 */
function directMoments(model: tf.LayersModel, x: Float32Array): { mean: Float64Array; variance: Float64Array }[] {
  const probe = tf.model({ inputs: model.inputs, outputs: batchNormLayers(model).map((l) => l.input as tf.SymbolicTensor) });
  const outputs = probe.predict(tf.tensor(x, [SAMPLES, ...INPUT_SHAPE]), { batchSize: 50 }) as tf.Tensor | tf.Tensor[];
  return (Array.isArray(outputs) ? outputs : [outputs]).map((t) => {
    const channels = t.shape[t.shape.length - 1] as number;
    const values = t.dataSync();
    const n = values.length / channels;
    const mean = new Float64Array(channels);
    const variance = new Float64Array(channels);
    values.forEach((v, i) => (mean[i % channels] = (mean[i % channels] as number) + v / n));
    values.forEach((v, i) => (variance[i % channels] = (variance[i % channels] as number) + (v - (mean[i % channels] as number)) ** 2 / n));
    return { mean, variance };
  });
}

/** max over layers and channels of |moving - direct| / (1 + |direct|), for means and variances. */
function maxDifference(model: tf.LayersModel, direct: { mean: Float64Array; variance: Float64Array }[]): number {
  let worst = 0;
  batchNormLayers(model).forEach((layer, i) => {
    const [movingMean, movingVariance] = layer.getWeights().slice(-2).map((w) => w.dataSync());
    const d = direct[i] as { mean: Float64Array; variance: Float64Array };
    d.mean.forEach((m, c) => (worst = Math.max(worst, Math.abs((movingMean?.[c] as number) - m) / (1 + Math.abs(m)))));
    d.variance.forEach((v, c) => (worst = Math.max(worst, Math.abs((movingVariance?.[c] as number) - v) / (1 + Math.abs(v)))));
  });
  return worst;
}

for (const kind of ['tfjs BatchNormalization', 'SyncBatchNormalization']) {
  test(`one rank (${kind}): every BN layer's moving statistics become the mean and biased variance of its test-time input over the samples`, async (t) => {
    const built = createZooModel('cnn-bn-dropout', { inputShape: INPUT_SHAPE, numClasses: 3, seed: 4 });
    const model = kind === 'SyncBatchNormalization' ? await convertToSyncBN(built) : built;
    assert.equal(batchNormLayers(model).length >= 2, true, 'the model has BN layers one behind the other');
    const x = samples(1);
    const trainable = model.trainableWeights.map((w) => w.read().dataSync().slice());
    const before = maxDifference(model, directMoments(model, x));
    const tensorsBefore = tf.memory().numTensors;
    const layers = recalibrateBatchNorm(model, chunksOf(x), LOCAL_BATCH_NORM_GROUP);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'recalibration leaks no tensors');
    assert.equal(layers, batchNormLayers(model).length);
    // The reference is taken after recalibration: each layer's input depends on the recalibrated layers upstream.
    const after = maxDifference(model, directMoments(model, x));
    t.diagnostic(`${kind}: max relative difference to the direct float64 moments ${after.toExponential(2)} (before recalibration ${before.toExponential(2)})`);
    assert.ok(before > 0.1, `the initial statistics should be far off, differ by only ${before}`);
    assert.ok(after <= 1e-5, `recalibrated statistics differ from the direct moments by ${after}`);
    model.trainableWeights.forEach((w, i) => assert.deepEqual(w.read().dataSync(), trainable[i], `weight ${w.name} changed`));
  });
}

test('BN inside a nested model is recalibrated through the outer layers; a BN applied twice is refused', () => {
  const inner = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, kernelInitializer: 'ones' }), tf.layers.batchNormalization()] });
  const input = tf.input({ shape: [2] });
  const outer = tf.model({ inputs: input, outputs: inner.apply(tf.layers.dense({ units: 4, kernelInitializer: 'ones', biasInitializer: 'ones' }).apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor });
  const x = tf.tensor2d([1, 2, 3, 5, -1, 0], [3, 2]);
  recalibrateBatchNorm(outer, { count: 1, input: () => x.clone() }, LOCAL_BATCH_NORM_GROUP);
  // dense(ones, bias 1) then dense(ones): every channel is 4 * (x0 + x1 + 1) = 16, 36, 0.
  const [mean, variance] = (inner.layers[1] as tf.layers.Layer).getWeights().slice(-2).map((w) => Array.from(w.dataSync()));
  const expectedVariance = ((16 - 52 / 3) ** 2 + (36 - 52 / 3) ** 2 + (0 - 52 / 3) ** 2) / 3;
  mean?.forEach((m) => assert.ok(Math.abs(m - 52 / 3) < 1e-4, `mean ${m}`));
  variance?.forEach((v) => assert.ok(Math.abs(v - expectedVariance) < 1e-2, `variance ${v}, expected ${expectedVariance}`));
  const shared = tf.layers.batchNormalization();
  const twice = tf.input({ shape: [3] });
  const twiceModel = tf.model({ inputs: twice, outputs: shared.apply(shared.apply(twice)) as tf.SymbolicTensor });
  assert.throws(() => recalibrateBatchNorm(twiceModel, { count: 1, input: () => tf.ones([2, 3]) }, LOCAL_BATCH_NORM_GROUP), { code: 'NN_ERR_RECALIBRATION' });
});
