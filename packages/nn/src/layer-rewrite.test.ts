import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { toPortableModel } from './layer-rewrite.js';
import { createZooModel } from './zoo/index.js';

before(async () => {
  await initBackend('wasm');
});

test('toPortableModel turns SampleDropout into Dropout and keeps weights and predictions', async () => {
  const model = createZooModel('cnn-bn-dropout', { inputShape: [10, 10, 1], numClasses: 3, seed: 2 });
  const portable = await toPortableModel(model);
  const classes = portable.layers.map((l) => l.getClassName());
  assert.equal(classes.includes('SampleDropout'), false);
  assert.equal(classes.filter((c) => c === 'Dropout').length, 2);
  const x = tf.randomUniform([4, 10, 10, 1], 0, 1, 'float32', 3);
  const a = (model.predict(x) as tf.Tensor).dataSync();
  const b = (portable.predict(x) as tf.Tensor).dataSync();
  assert.deepEqual([...b], [...a]);
  // A model without custom layers is returned as it is.
  const plain = createZooModel('mlp', { inputShape: [4], numClasses: 2 });
  assert.equal(await toPortableModel(plain), plain);
});
