import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { channelCount, hasKernel, leadingAxes } from './channel-ops.js';
import { trainingKernels } from './training-module.js';
import { heapAddress, requireInput, type WasmKernelBackend } from './wasm-backend.js';

export const CHANNEL_MOMENTS = 'TfjsDdpChannelMoments';

function channelMomentsKernel(args: { inputs: NamedTensorInfoMap; backend: WasmKernelBackend }): TensorInfo[] {
  const { inputs, backend } = args;
  const x = requireInput(inputs, 'x', CHANNEL_MOMENTS);
  const channels = x.shape[x.shape.length - 1] as number;
  const rows = x.shape.reduce((a, b) => a * b, 1) / channels;
  const mean = backend.makeOutput([channels], 'float32');
  const m2 = backend.makeOutput([channels], 'float32');
  const { fn } = trainingKernels(backend);
  fn.sum_rows(heapAddress(backend, x), rows, channels, 1 / rows, heapAddress(backend, mean));
  fn.channel_m2(heapAddress(backend, x), heapAddress(backend, mean), rows, channels, heapAddress(backend, m2));
  return [mean, m2];
}

/** The wasm kernel behind `channelMoments`: two passes over x, float64 block sums. */
export const channelMomentsConfig: KernelConfig = {
  kernelName: CHANNEL_MOMENTS,
  backendName: 'wasm',
  kernelFunc: channelMomentsKernel as unknown as KernelFunc,
};

/**
 * Per-channel mean and M2 (sum of squared deviations from that mean) of x [..., C] over
 * all other axes: the (mean, M2) a replica contributes to synchronized batch norm, to be
 * merged across replicas with Chan's formula; the biased variance is M2 / count. One C
 * kernel on wasm (two passes over x); tfjs ops on other backends.
 */
export function channelMoments(x: tf.Tensor): { mean: tf.Tensor1D; m2: tf.Tensor1D } {
  channelCount('channelMoments', x);
  if (hasKernel(CHANNEL_MOMENTS)) {
    const [mean, m2] = tf.engine().runKernel(CHANNEL_MOMENTS, { x }) as tf.Tensor1D[];
    return { mean: mean as tf.Tensor1D, m2: m2 as tf.Tensor1D };
  }
  return tf.tidy(() => {
    const axes = leadingAxes(x);
    const mean = tf.mean(x, axes) as tf.Tensor1D;
    return { mean, m2: tf.sum(tf.square(tf.sub(x, mean)), axes) as tf.Tensor1D };
  });
}
