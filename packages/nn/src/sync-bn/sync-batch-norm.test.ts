import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { mulberry32, normalFrom } from '@tfjs-ddp/data';
import { createZooModel } from '../zoo/index.js';
import { convertToBatchNorm, convertToSyncBN, syncBatchNormLayers } from './convert.js';
import { SyncBatchNormalization } from './sync-batch-norm.js';

before(async () => {
  await initBackend('wasm');
});

function randomTensor(shape: number[], seed: number, offset = 0, scale = 1): tf.Tensor {
  const normal = normalFrom(mulberry32(seed));
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => offset + scale * normal()), shape);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

for (const shape of [[16, 6], [5, 4, 3, 6]]) {
  test(`group of one on ${shape.length === 2 ? 'dense (N,C)' : 'conv (N,H,W,C)'} input: same output, gradients and moving statistics as tfjs BatchNormalization`, () => {
    const channels = shape[shape.length - 1] as number;
    const args = { momentum: 0.9, epsilon: 1e-3, gammaInitializer: tf.initializers.constant({ value: 1.3 }), betaInitializer: tf.initializers.constant({ value: -0.2 }) };
    const plain = tf.layers.batchNormalization(args);
    const sync = new SyncBatchNormalization(args);
    const x = randomTensor(shape, 5, 2, 3);
    const upstream = randomTensor(shape, 6);
    plain.build(x.shape);
    sync.build(x.shape);
    const [gradPlain, gradSync] = [plain, sync].map((layer) =>
      tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, upstream)) as tf.Scalar, layer.trainableWeights.map((w) => w.read() as tf.Variable)),
    ) as [{ value: tf.Scalar; grads: tf.NamedTensorMap }, { value: tf.Scalar; grads: tf.NamedTensorMap }];
    assert.ok(Math.abs((gradPlain.value.dataSync()[0] as number) - (gradSync.value.dataSync()[0] as number)) < 1e-3);
    const [gammaPlain, betaPlain] = plain.trainableWeights.map((w) => gradPlain.grads[(w.read() as tf.Variable).name] as tf.Tensor);
    const [gammaSync, betaSync] = sync.trainableWeights.map((w) => gradSync.grads[(w.read() as tf.Variable).name] as tf.Tensor);
    assert.ok(maxAbsDiff(gammaPlain as tf.Tensor, gammaSync as tf.Tensor) < 1e-4, 'dgamma');
    assert.ok(maxAbsDiff(betaPlain as tf.Tensor, betaSync as tf.Tensor) < 1e-4, 'dbeta');
    const dxPlain = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(plain.apply(input, { training: true }) as tf.Tensor, upstream)))(x);
    const dxSync = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(sync.apply(input, { training: true }) as tf.Tensor, upstream)))(x);
    assert.ok(maxAbsDiff(dxPlain, dxSync) < 1e-5, `dx differs by ${maxAbsDiff(dxPlain, dxSync)}`);
    // Three training calls each: moving statistics follow tfjs's update rule.
    const weightsPlain = plain.getWeights();
    const weightsSync = sync.getWeights();
    assert.equal(weightsSync.length, 4);
    weightsPlain.forEach((w, i) => assert.ok(maxAbsDiff(w, weightsSync[i] as tf.Tensor) < 1e-5 * (1 + (tf.max(tf.abs(w)).dataSync()[0] as number)), `weight ${i}`));
    assert.ok(maxAbsDiff(weightsSync[3] as tf.Tensor, tf.ones([channels])) > 0.1, 'moving variance moved');
    const inference = [plain, sync].map((l) => l.apply(x, { training: false }) as tf.Tensor) as [tf.Tensor, tf.Tensor];
    assert.ok(maxAbsDiff(inference[0], inference[1]) < 1e-5);
    tf.dispose([gradPlain.value, gradSync.value, ...Object.values(gradPlain.grads), ...Object.values(gradSync.grads), dxPlain, dxSync, ...inference]);
    const before = tf.memory().numTensors;
    const variables = sync.trainableWeights.map((w) => w.read() as tf.Variable);
    tf.tidy(() => {
      tf.variableGrads(() => tf.sum(sync.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, variables);
    });
    assert.equal(tf.memory().numTensors, before, 'a training step leaks no tensors');
  });
}

test('BN <-> SyncBN conversion keeps every weight; config round trip; only the last axis', async () => {
  const model = createZooModel('resnet', { inputShape: [8, 8, 1], numClasses: 3, seed: 2 });
  const synced = await convertToSyncBN(model);
  const layers = syncBatchNormLayers(synced);
  assert.equal(layers.length, model.layers.filter((l) => l.getClassName() === 'BatchNormalization').length);
  assert.ok(layers.length > 0);
  const x = randomTensor([2, 8, 8, 1], 1);
  assert.ok(maxAbsDiff(model.predict(x) as tf.Tensor, synced.predict(x) as tf.Tensor) === 0);
  const back = await convertToBatchNorm(synced);
  assert.equal(back.layers.some((l) => l.getClassName() === 'SyncBatchNormalization'), false);
  assert.ok(maxAbsDiff(model.predict(x) as tf.Tensor, back.predict(x) as tf.Tensor) === 0);
  const config = new SyncBatchNormalization({ momentum: 0.5 }).getConfig();
  assert.equal(config['momentum'], 0.5);
  assert.equal(config['epsilon'], 1e-3, "tfjs's default epsilon");
  const wrongAxis = new SyncBatchNormalization({ axis: 1 });
  assert.throws(() => wrongAxis.apply(randomTensor([2, 3, 4], 1), { training: true }), /only the last axis/);
});
