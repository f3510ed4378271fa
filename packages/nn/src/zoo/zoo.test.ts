import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { convertToSyncBN, syncBatchNormLayers } from '../sync-bn/convert.js';
import { createZooModel, ZOO_MODEL_NAMES } from './index.js';

before(async () => {
  await initBackend('wasm');
});

function layerClasses(model: tf.LayersModel): string[] {
  return model.layers.map((l) => l.getClassName());
}

test('every zoo model builds, outputs class probabilities, and is seeded', () => {
  for (const name of ZOO_MODEL_NAMES) {
    const a = createZooModel(name, { inputShape: [12, 12, 1], numClasses: 5, seed: 4 });
    const b = createZooModel(name, { inputShape: [12, 12, 1], numClasses: 5, seed: 4 });
    const c = createZooModel(name, { inputShape: [12, 12, 1], numClasses: 5, seed: 5 });
    const y = tf.tidy(() => (a.predict(tf.randomUniform([3, 12, 12, 1])) as tf.Tensor).arraySync() as number[][]);
    assert.equal(y.length, 3);
    for (const row of y) {
      assert.equal(row.length, 5);
      assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-5, `${name}: softmax rows sum to 1`);
    }
    const same = a.getWeights().every((w, i) => tf.tidy(() => tf.equal(w, b.getWeights()[i] as tf.Tensor).all().dataSync()[0] === 1));
    assert.ok(same, `${name}: same seed, same weights`);
    const kernelA = a.getWeights()[0]?.dataSync();
    const kernelC = c.getWeights()[0]?.dataSync();
    assert.notDeepEqual(kernelA, kernelC, `${name}: another seed, other weights`);
    [a, b, c].forEach((m) => m.dispose());
  }
});

test('BN placement puts BatchNormalization before or after the activation, or leaves it out', () => {
  const before = layerClasses(createZooModel('cnn-bn', { bnPlacement: 'before' }));
  const after = layerClasses(createZooModel('cnn-bn', { bnPlacement: 'after' }));
  const none = layerClasses(createZooModel('cnn-bn', { bnPlacement: 'none' }));
  assert.deepEqual(before.slice(0, 4), ['Conv2D', 'BatchNormalization', 'Activation', 'MaxPooling2D']);
  assert.deepEqual(after.slice(0, 3), ['Conv2D', 'BatchNormalization', 'MaxPooling2D']);
  assert.equal(none.includes('BatchNormalization'), false);
  assert.ok(layerClasses(createZooModel('cnn-bn-dropout')).includes('SampleDropout'));
  assert.equal(layerClasses(createZooModel('mlp')).includes('BatchNormalization'), false);
  assert.ok(layerClasses(createZooModel('resnet')).includes('Add'), 'resnet has skip connections');
});

test('initScale multiplies every initial kernel; the default keeps the Glorot draws', () => {
  const plain = createZooModel('cnn-bn', { seed: 3 });
  const same = createZooModel('cnn-bn', { seed: 3, initScale: 1 });
  const scaled = createZooModel('cnn-bn', { seed: 3, initScale: 2.5 });
  const kernels = (m: tf.LayersModel): tf.Tensor[] => m.weights.filter((w) => w.name.endsWith('kernel')).map((w) => w.read());
  assert.equal(kernels(plain).length, 4, 'two conv and two dense kernels');
  kernels(plain).forEach((k, i) => {
    const ratio = tf.tidy(() => tf.sub(tf.div(kernels(scaled)[i] as tf.Tensor, 2.5), k).abs().max().dataSync()[0] as number);
    assert.ok(ratio < 1e-6, `kernel ${i}: scaled by 2.5 (difference ${ratio})`);
    assert.deepEqual(kernels(same)[i]?.dataSync(), k.dataSync(), `kernel ${i}: initScale 1 is the default`);
  });
  [plain, same, scaled].forEach((m) => m.dispose());
});

test('bnMomentum reaches every BatchNormalization layer and survives SyncBN conversion; tfjs default 0.99 otherwise', async () => {
  const momenta = (m: tf.LayersModel): unknown[] =>
    m.layers.filter((l) => l.getClassName() === 'BatchNormalization').map((l) => l.getConfig()['momentum']);
  assert.deepEqual(momenta(createZooModel('cnn-bn')), [0.99, 0.99]);
  assert.deepEqual(momenta(createZooModel('cnn-bn', { bnPlacement: 'after', bnMomentum: 0.9 })), [0.9, 0.9]);
  assert.ok(momenta(createZooModel('resnet', { bnMomentum: 0.5 })).every((m) => m === 0.5));
  const synced = syncBatchNormLayers(await convertToSyncBN(createZooModel('cnn-bn', { bnMomentum: 0.9 })));
  assert.deepEqual(synced.map((l) => l.momentum), [0.9, 0.9]);
});

test('unknown models and bad options are refused with codes', () => {
  assert.throws(() => createZooModel('vgg'), { code: 'NN_ERR_UNKNOWN_MODEL', message: /mlp, cnn-bn/ });
  assert.throws(() => createZooModel('mlp', { dropout: 1.5 }), { code: 'NN_ERR_BAD_OPTION' });
  assert.throws(() => createZooModel('resnet', { bnPlacement: 'after' }), { code: 'NN_ERR_BAD_OPTION' });
  assert.throws(() => createZooModel('cnn-bn', { initScale: 0 }), { code: 'NN_ERR_BAD_OPTION' });
  assert.throws(() => createZooModel('cnn-bn', { bnMomentum: 1 }), { code: 'NN_ERR_BAD_OPTION' });
});
