import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { assertClose, initBothBackends, runOnBoth, seededUniform } from '../testing/both-backends.js';

/**
 * Whole training steps, the way @tfjs-ddp/trainer's replica takes them (variableGrads of
 * a summed cross-entropy over model.apply(x, {training: true})): every gradient on wasm
 * with this package's kernels matches the cpu backend, and steps leak no tensors.
 */

const BATCH = 6;
const CLASSES = 5;

type Build = () => tf.LayersModel;

/** conv-BN-relu-pool twice, dense, softmax: the zoo's cnn-bn at a small size. */
const cnnBn: Build = () => {
  const model = tf.sequential();
  model.add(tf.layers.inputLayer({ inputShape: [12, 12, 1] }));
  for (const filters of [4, 8]) {
    model.add(tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false }));
    model.add(tf.layers.batchNormalization({ axis: -1 }));
    model.add(tf.layers.activation({ activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
  }
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 16, activation: 'relu' }));
  model.add(tf.layers.dense({ units: CLASSES, activation: 'softmax' }));
  return model;
};

/** A residual block with a strided conv and a 1x1 strided shortcut, global average pooling: the zoo's resnet at a small size. */
const residual: Build = () => {
  const input = tf.input({ shape: [12, 12, 1] });
  const relu = (x: tf.SymbolicTensor): tf.SymbolicTensor => tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor): tf.SymbolicTensor => tf.layers.batchNormalization({ axis: -1 }).apply(x) as tf.SymbolicTensor;
  const conv = (x: tf.SymbolicTensor, filters: number, size: number, strides: number): tf.SymbolicTensor =>
    tf.layers.conv2d({ filters, kernelSize: size, strides, padding: 'same', useBias: false }).apply(x) as tf.SymbolicTensor;
  const stem = relu(bn(conv(input, 4, 3, 1)));
  const shortcut = bn(conv(stem, 8, 1, 2));
  const body = bn(conv(relu(bn(conv(stem, 8, 3, 2))), 8, 3, 1));
  const merged = relu(tf.layers.add().apply([body, shortcut]) as tf.SymbolicTensor);
  const pooled = tf.layers.globalAveragePooling2d({}).apply(merged) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: CLASSES, activation: 'softmax' }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
};

/** Depthwise-separable conv and an embedding, for the kernels the zoo does not use. */
const separable: Build = () => {
  const model = tf.sequential();
  model.add(tf.layers.inputLayer({ inputShape: [12, 12, 1] }));
  model.add(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }));
  model.add(tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', activation: 'relu' }));
  model.add(tf.layers.averagePooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: CLASSES, activation: 'softmax' }));
  return model;
};

function setSeededWeights(model: tf.LayersModel): void {
  model.setWeights(model.weights.map((w, i) => {
    const values = seededUniform(w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 100 + i);
    // Variances of batch norm must stay positive; the rest is centred at 0 or 1 as built.
    const isVariance = w.name.includes('moving_variance');
    return tf.tensor(isVariance ? values.map((v) => 1 + 0.5 * v) : values.map((v) => 0.5 * v), w.shape as number[]);
  }));
}

function gradientsOfStep(build: Build, x: Float32Array, labels: number[]): tf.Tensor[] {
  const model = build();
  setSeededWeights(model);
  const input = tf.tensor(x, [BATCH, 12, 12, 1]);
  const target = tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => {
    const output = model.apply(input, { training: true }) as tf.Tensor;
    return tf.neg(tf.sum(tf.mul(target, tf.log(tf.clipByValue(output, 1e-7, 1 - 1e-7))))) as tf.Scalar;
  }, variables);
  const result = [value, ...variables.map((v) => grads[v.name] as tf.Tensor)].map((t) => tf.keep(t.clone()));
  model.dispose();
  return result;
}

describe('training steps on wasm', () => {
  before(initBothBackends);

  const x = seededUniform(BATCH * 12 * 12, 1);
  const labels = [0, 1, 2, 3, 4, 2];
  for (const [name, build] of [['cnn-bn', cnnBn], ['residual', residual], ['depthwise-separable', separable]] as const) {
    it(`give cpu's loss and gradients: ${name}`, async () => {
      const result = await runOnBoth(() => gradientsOfStep(build, x, labels));
      assert.ok(result.cpu.length > 4);
      // Many reductions in another order, through BN's division by the batch deviation.
      assertClose(result, 2e-5, `${name} step`);
    });
  }

  it('leave the number of tensors unchanged step after step', async () => {
    await tf.setBackend('wasm');
    const model = residual();
    setSeededWeights(model);
    const optimizer = tf.train.sgd(0.01);
    const input = tf.tensor(x, [BATCH, 12, 12, 1]);
    const target = tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES);
    const step = (): void => {
      tf.tidy(() => {
        const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const { grads } = tf.variableGrads(() => {
          const output = model.apply(input, { training: true }) as tf.Tensor;
          return tf.neg(tf.sum(tf.mul(target, tf.log(tf.clipByValue(output, 1e-7, 1 - 1e-7))))) as tf.Scalar;
        }, variables);
        optimizer.applyGradients(grads);
      });
    };
    step();
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      step();
      counts.push(tf.memory().numTensors);
    }
    assert.deepEqual(counts, counts.map(() => counts[0]));
    tf.dispose([input, target]);
    optimizer.dispose();
    model.dispose();
    await tf.setBackend('cpu');
  });
});
