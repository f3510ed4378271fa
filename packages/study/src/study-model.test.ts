import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { createZooModel, type BnPlacement } from '@tfjs-ddp/nn';
import { buildStudyModel, DEEP_MLP_LAYERS, type StudyModelOptions } from './study-model.js';

const BASE: StudyModelOptions = {
  inputShape: [28, 28, 1],
  numClasses: 10,
  seed: 3,
  network: 'cnn',
  bnPlacement: 'before',
  activation: 'relu',
  dropout: 0,
  dropoutAt: 'pool',
  initScale: 1,
  bnMomentum: 0.9,
};

before(async () => {
  await initBackend('wasm');
});

function classes(model: tf.LayersModel): string[] {
  return model.layers.map((l) => l.getClassName());
}

test("the study's cnn is the zoo's cnn-bn: the same initial weights, so earlier results stay comparable", () => {
  const before = tf.memory().numTensors;
  for (const bnPlacement of ['before', 'after', 'none'] as BnPlacement[]) {
    const ours = buildStudyModel({ ...BASE, bnPlacement });
    const zoo = createZooModel('cnn-bn', { seed: 3, bnPlacement, bnMomentum: 0.9 });
    const a = ours.getWeights();
    const b = zoo.getWeights();
    assert.equal(a.length, b.length, bnPlacement);
    a.forEach((w, i) => assert.deepEqual(w.dataSync(), b[i]?.dataSync(), `${bnPlacement}: weight ${i}`));
    ours.dispose();
    zoo.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});

test('dropout goes where asked, BN on the dense layer only in cnn-dense-bn, and the deep MLP has BN on every hidden layer', () => {
  const neighbours = (dropoutAt: StudyModelOptions['dropoutAt'], offset: number): (string | undefined)[] => {
    const names = classes(buildStudyModel({ ...BASE, dropout: 0.5, dropoutAt }));
    return names.flatMap((name, i) => (name === 'SampleDropout' ? [names[i + offset]] : []));
  };
  assert.deepEqual(neighbours('conv', 1), ['MaxPooling2D', 'MaxPooling2D'], 'conv: right before each pooling layer');
  assert.deepEqual(neighbours('pool', -1), ['MaxPooling2D', 'MaxPooling2D'], 'pool: right after each pooling layer');
  const c = classes(buildStudyModel(BASE));
  const classifier = classes(buildStudyModel({ ...BASE, dropout: 0.5, dropoutAt: 'classifier' }));
  assert.equal(classifier[classifier.length - 2], 'SampleDropout', 'classifier: right before the last dense layer');
  const count = (names: string[], name: string): number => names.filter((n) => n === name).length;
  assert.equal(count(c, 'BatchNormalization'), 2);
  assert.equal(count(classes(buildStudyModel({ ...BASE, network: 'cnn-dense-bn' })), 'BatchNormalization'), 3);
  const mlp = classes(buildStudyModel({ ...BASE, network: 'deep-mlp', activation: 'sigmoid' }));
  assert.equal(count(mlp, 'BatchNormalization'), DEEP_MLP_LAYERS);
  assert.equal(count(mlp, 'Dense'), DEEP_MLP_LAYERS + 1);
});
