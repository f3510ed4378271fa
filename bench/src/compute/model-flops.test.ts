import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createZooModel } from '@tfjs-ddp/nn';
import { trainingStepFlops } from './model-flops.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** Multiply-adds per sample of a convolution with output `size` x `size` (a dense layer: size 1, k 1). */
const macs = (size: number, k: number, cin: number, cout: number): number => size * size * k * k * cin * cout;

/** The step's FLOPs from per-sample forward multiply-adds: 2 FLOPs each, x2 for the first layer, x3 after (see trainingStepFlops). */
function stepFlops(batch: number, first: number, rest: number[]): number {
  return 2 * batch * (2 * first + 3 * rest.reduce((a, b) => a + b, 0));
}

test('the mlp step counts its three dense products', () => {
  const model = createZooModel('mlp', {});
  const expected = stepFlops(64, macs(1, 1, 784, 128), [macs(1, 1, 128, 64), macs(1, 1, 64, 10)]);
  assert.equal(trainingStepFlops(model, 64), expected);
  model.dispose();
});

test('the resnet step counts every convolution, the strided 1x1 shortcuts too, and skips the merge layers', () => {
  const model = createZooModel('resnet', {});
  const expected = stepFlops(64, macs(28, 3, 1, 16), [
    macs(28, 3, 16, 16), macs(28, 3, 16, 16),
    macs(14, 1, 16, 32), macs(14, 3, 16, 32), macs(14, 3, 32, 32),
    macs(7, 1, 32, 64), macs(7, 3, 32, 64), macs(7, 3, 64, 64),
    macs(1, 1, 64, 10),
  ]);
  assert.equal(trainingStepFlops(model, 64), expected);
  model.dispose();
});
