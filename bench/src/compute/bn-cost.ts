import * as tf from '@tensorflow/tfjs';
import { batchNormTraining } from '@tfjs-ddp/backend';
import { median, stepRunner, timeSteps } from './tfjs-step.js';

const EPSILON = 1e-3;

/**
 * Batch norm in training mode as tfjs-layers computes it: tf.moments and tf.batchNorm,
 * differentiated op by op by tfjs (about 20 passes over the activation backward).
 */
function tfjsComposite(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor {
  const { mean, variance } = tf.moments(x, Array.from({ length: x.rank - 1 }, (_, i) => i));
  return tf.batchNorm(x, mean, variance, beta, gamma, EPSILON);
}

/** The same on @tfjs-ddp/backend's per-channel ops, as nn's SyncBatchNormalization wires them. */
function kernelPath(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor {
  return batchNormTraining(x, gamma, beta, EPSILON);
}

/** Forward + backward of one BN layer on activations of `shape`, best of `repeats`. */
function timeLayer(shape: number[], batchNorm: typeof tfjsComposite, repeats: number): number {
  const channels = shape[shape.length - 1] as number;
  const x = tf.randomNormal(shape);
  const dyWeights = tf.randomNormal(shape);
  const gamma = tf.ones([channels]) as tf.Tensor1D;
  const beta = tf.zeros([channels]) as tf.Tensor1D;
  const step = (): void => {
    tf.tidy(() => {
      const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(batchNorm(a, g as tf.Tensor1D, b as tf.Tensor1D), dyWeights)),
      )([x, gamma, beta]);
      for (const t of grads) t.dataSync();
    });
  };
  step();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    step();
    times.push(performance.now() - started);
  }
  tf.dispose([x, dyWeights, gamma, beta]);
  return Math.min(...times);
}

/** Shapes of the BN layers of the zoo's models at batch `batch` (28x28x1 inputs). */
export function bnShapes(model: string, batch: number): number[][] {
  switch (model) {
    case 'cnn-bn':
    case 'cnn-bn-dropout':
      return [[batch, 28, 28, 16], [batch, 14, 14, 32]];
    case 'resnet':
      return [
        ...Array.from({ length: 3 }, () => [batch, 28, 28, 16]),
        ...Array.from({ length: 3 }, () => [batch, 14, 14, 32]),
        ...Array.from({ length: 3 }, () => [batch, 7, 7, 64]),
      ];
    default:
      return [];
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * What batch norm costs in a training step of `model` (the trainer's step, whose BN runs
 * on the per-channel kernels): the step with BN and without (zoo option bnPlacement
 * 'none'), and each BN layer's forward + backward as tfjs composes it and on the kernels.
 */
export async function bnCost(model: string, batch: number, steps: number): Promise<object | undefined> {
  const shapes = bnShapes(model, batch);
  if (shapes.length === 0) return undefined;
  const measure = async (options: { bnPlacement?: 'none' }): Promise<number> => {
    const runner = await stepRunner(model, batch, options);
    const ms = median(timeSteps(runner, steps, 3).stepMs);
    runner.dispose();
    return ms;
  };
  const withBn = await measure({});
  const withoutBn = await measure({ bnPlacement: 'none' });
  const layers = shapes.map((shape) => ({
    shape,
    tfjsCompositeMs: round2(timeLayer(shape, tfjsComposite, 5)),
    kernelPathMs: round2(timeLayer(shape, kernelPath, 5)),
  }));
  const composite = layers.reduce((s, l) => s + l.tfjsCompositeMs, 0);
  const kernels = layers.reduce((s, l) => s + l.kernelPathMs, 0);
  return {
    bench: 'compute-bn-cost',
    model,
    batch,
    stepMsWithBn: round2(withBn),
    stepMsWithoutBn: round2(withoutBn),
    layers,
    bnLayersMs: { tfjsComposite: round2(composite), kernelPath: round2(kernels) },
    note:
      'layer times are forward + backward inside the same tf.grads harness (a multiply by fixed weights, a sum, reading the gradients): ' +
      'compare their difference, not their size',
  };
}
