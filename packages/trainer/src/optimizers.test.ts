import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { mulberry32 } from '@tfjs-ddp/data';
import { createOptimizer, createTfjsOptimizer } from './optimizers.js';
import { OPTIMIZER_TEST_SPECS } from './optimizer-test-specs.js';

before(async () => {
  await initBackend('wasm');
});

const SPECS = OPTIMIZER_TEST_SPECS;

for (const spec of SPECS) {
  test(`${JSON.stringify(spec)}: same bits as tfjs's own optimizer over 12 steps`, () => {
    const random = mulberry32(7);
    const shapes = [[3, 4], [4], [2, 2, 2]];
    const initial = shapes.map((s) => Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => random() - 0.5));
    const ours = initial.map((v, i) => tf.variable(tf.tensor(v, shapes[i])));
    const theirs = initial.map((v, i) => tf.variable(tf.tensor(v, shapes[i])));
    const optimizer = createOptimizer(spec, ours);
    const reference = createTfjsOptimizer(spec);
    for (let step = 0; step < 12; step++) {
      const gradients = shapes.map((s) => tf.tensor(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1), s));
      optimizer.apply(gradients);
      reference.applyGradients(Object.fromEntries(theirs.map((v, i) => [v.name, gradients[i] as tf.Tensor])));
      tf.dispose(gradients);
    }
    ours.forEach((v, i) => assert.deepEqual(v.dataSync(), theirs[i]?.dataSync(), `variable ${i}`));
    assert.equal(optimizer.state.length, spec.name === 'sgd' ? 0 : spec.name === 'momentum' ? 3 : 2 + 6, 'state created up front');
    optimizer.dispose();
    reference.dispose();
    tf.dispose([...ours, ...theirs]);
  });
}
