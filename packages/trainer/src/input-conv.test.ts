import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { mulberry32 } from '@tfjs-ddp/data';
import { createZooModel } from '@tfjs-ddp/nn';
import { Replica, type Shard } from './replica.js';

/**
 * input-conv.ts: a Conv2D layer on the model's input no longer computes the input's
 * gradient (one Conv2DBackpropInput fewer per step), and the step's loss and gradients
 * stay bit for bit those of tfjs's own layer call (`fused: false`).
 */

before(async () => {
  await initBackend('wasm');
});

function shard(inputShape: number[], count: number, classes: number, seed: number): Shard {
  const random = mulberry32(seed);
  const size = inputShape.reduce((a, b) => a * b, 1);
  return {
    x: Float32Array.from({ length: count * size }, () => random() * 2 - 1),
    y: Int32Array.from({ length: count }, () => Math.floor(random() * classes)),
    count,
    indices: Int32Array.from({ length: count }, (_, i) => i),
  };
}

/**
 * A first conv with bias, stride 2 and valid padding (the parts of the call the replacement
 * redoes); linear, as before BN: tfjs's own call takes the unfused path, whose input
 * gradient is lazy already, for any other activation.
 */
function stridedModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [9, 9, 2], filters: 5, kernelSize: 3, strides: 2, padding: 'valid', activation: 'linear', kernelInitializer: 'glorotUniform', biasInitializer: 'randomNormal' }));
  model.add(tf.layers.reLU());
  model.add(tf.layers.conv2d({ filters: 4, kernelSize: 2, padding: 'same' }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  return model;
}

async function inputGradientKernels(replica: Replica, data: Shard): Promise<{ calls: number; grads: Float32Array; loss: number }> {
  let result: { grads: Float32Array; loss: number } | undefined;
  const info = await tf.profile(() => {
    const step = replica.computeGradients(data, 0);
    result = { grads: step.grads.slice(), loss: step.lossSum };
  });
  const calls = info.kernels.filter((k) => k.name === 'Conv2DBackpropInput').length;
  return { calls, ...(result as { grads: Float32Array; loss: number }) };
}

const CASES: { name: string; build: () => tf.LayersModel; inputShape: number[]; classes: number; convs: number }[] = [
  { name: 'cnn-bn', build: () => createZooModel('cnn-bn', {}), inputShape: [28, 28, 1], classes: 10, convs: 2 },
  { name: 'resnet', build: () => createZooModel('resnet', {}), inputShape: [28, 28, 1], classes: 10, convs: 9 },
  { name: 'strided conv with bias', build: stridedModel, inputShape: [9, 9, 2], classes: 3, convs: 2 },
];

for (const c of CASES) {
  test(`${c.name}: the input's gradient is not computed, the step's results are tfjs's to the bit`, async () => {
    const data = shard(c.inputShape, 6, c.classes, 1234);
    const model = c.build();
    const reference = c.build();
    reference.setWeights(model.getWeights());
    const fast = new Replica({ model, optimizer: { name: 'sgd' }, runSeed: 1 });
    const plain = new Replica({ model: reference, optimizer: { name: 'sgd' }, runSeed: 1, fused: false });
    const ours = await inputGradientKernels(fast, data);
    const theirs = await inputGradientKernels(plain, data);
    let differ = 0;
    for (let i = 0; i < ours.grads.length; i++) if (ours.grads[i] !== theirs.grads[i]) differ++;
    console.log(`# ${c.name}: Conv2DBackpropInput calls ${ours.calls} (tfjs's call: ${theirs.calls}); gradients differing: ${differ} of ${ours.grads.length}; loss ${ours.loss} vs ${theirs.loss}`);
    assert.equal(theirs.calls, c.convs, 'the reference computes every conv input gradient');
    assert.equal(ours.calls, c.convs - 1, 'the first conv computes no input gradient');
    assert.equal(differ, 0, 'gradients bit for bit');
    assert.equal(ours.loss, theirs.loss);
    const x = tf.tensor(data.x, [data.count, ...c.inputShape]);
    const predicted = model.predict(x) as tf.Tensor;
    const expected = reference.predict(x) as tf.Tensor;
    assert.deepEqual(predicted.dataSync(), expected.dataSync(), 'inference too');
    tf.dispose([x, predicted, expected]);
    fast.dispose();
    plain.dispose();
    model.dispose();
    reference.dispose();
  });
}
