import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { channelCount, hasKernel, requireChannelVector, requireSameShape } from './channel-ops.js';
import { trainingKernels } from './training-module.js';
import { heapAddress, requireInput, type WasmKernelBackend } from './wasm-backend.js';

export const BATCH_NORM_GRAD_INPUT = 'TfjsDdpBatchNormGradInput';

function batchNormGradInputKernel(args: { inputs: NamedTensorInfoMap; backend: WasmKernelBackend }): TensorInfo {
  const { inputs, backend } = args;
  const [dy, x, mean, k, a, b] = ['dy', 'x', 'mean', 'k', 'a', 'b'].map((name) => requireInput(inputs, name, BATCH_NORM_GRAD_INPUT)) as [
    TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo,
  ];
  const channels = x.shape[x.shape.length - 1] as number;
  const rows = x.shape.reduce((p, q) => p * q, 1) / channels;
  const dx = backend.makeOutput([...x.shape], 'float32');
  trainingKernels(backend).fn.bn_grad_input(
    heapAddress(backend, dy), heapAddress(backend, x), heapAddress(backend, mean), heapAddress(backend, k),
    heapAddress(backend, a), heapAddress(backend, b), rows, channels, heapAddress(backend, dx),
  );
  return dx;
}

/** The wasm kernel behind `batchNormGradInput`: one pass over dy and x. */
export const batchNormGradInputConfig: KernelConfig = {
  kernelName: BATCH_NORM_GRAD_INPUT,
  backendName: 'wasm',
  kernelFunc: batchNormGradInputKernel as unknown as KernelFunc,
};

/**
 * Batch norm's input gradient, dx = k·(dy − a − (x − mean)·b) per channel, with, for a
 * batch (or a synchronized global batch) of N values per channel, invStd = 1/√(var+ε):
 * k = γ·invStd, a = ΣDy/N, b = ΣDy(x−mean)·invStd²/N (the sums of `batchNormGradSums`,
 * all-reduced first under synchronized BN). One C pass on wasm; tfjs ops elsewhere.
 */
export function batchNormGradInput(
  dy: tf.Tensor, x: tf.Tensor, mean: tf.Tensor1D, k: tf.Tensor1D, a: tf.Tensor1D, b: tf.Tensor1D,
): tf.Tensor {
  const op = 'batchNormGradInput';
  const channels = channelCount(op, x);
  requireSameShape(op, x, dy, 'dy');
  for (const [name, v] of [['mean', mean], ['k', k], ['a', a], ['b', b]] as const) requireChannelVector(op, v, channels, name);
  if (hasKernel(BATCH_NORM_GRAD_INPUT)) return tf.engine().runKernel(BATCH_NORM_GRAD_INPUT, { dy, x, mean, k, a, b }) as tf.Tensor;
  return tf.tidy(() => tf.mul(k, tf.sub(tf.sub(dy, a), tf.mul(tf.sub(x, mean), b))));
}
