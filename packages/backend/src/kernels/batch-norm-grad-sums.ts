import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { channelCount, hasKernel, leadingAxes, requireChannelVector, requireSameShape } from './channel-ops.js';
import { trainingKernels } from './training-module.js';
import { heapAddress, requireInput, type WasmKernelBackend } from './wasm-backend.js';

export const BATCH_NORM_GRAD_SUMS = 'TfjsDdpBatchNormGradSums';

function batchNormGradSumsKernel(args: { inputs: NamedTensorInfoMap; backend: WasmKernelBackend }): TensorInfo[] {
  const { inputs, backend } = args;
  const dy = requireInput(inputs, 'dy', BATCH_NORM_GRAD_SUMS);
  const x = requireInput(inputs, 'x', BATCH_NORM_GRAD_SUMS);
  const mean = requireInput(inputs, 'mean', BATCH_NORM_GRAD_SUMS);
  const channels = x.shape[x.shape.length - 1] as number;
  const rows = x.shape.reduce((a, b) => a * b, 1) / channels;
  const sumDy = backend.makeOutput([channels], 'float32');
  const sumDyXmu = backend.makeOutput([channels], 'float32');
  trainingKernels(backend).fn.bn_grad_sums(
    heapAddress(backend, dy), heapAddress(backend, x), heapAddress(backend, mean), rows, channels,
    heapAddress(backend, sumDy), heapAddress(backend, sumDyXmu),
  );
  return [sumDy, sumDyXmu];
}

/** The wasm kernel behind `batchNormGradSums`: one pass over dy and x. */
export const batchNormGradSumsConfig: KernelConfig = {
  kernelName: BATCH_NORM_GRAD_SUMS,
  backendName: 'wasm',
  kernelFunc: batchNormGradSumsKernel as unknown as KernelFunc,
};

/**
 * The two per-channel sums of batch norm's backward pass, over all axes of x [..., C]
 * but the last: sumDy = Σ dy and sumDyXmu = Σ dy·(x − mean). With invStd = 1/√(var+ε):
 * dβ = sumDy, dγ = invStd·sumDyXmu, and (after summing both across replicas for
 * synchronized BN) dx comes from `batchNormGradInput`. One C pass on wasm; tfjs ops elsewhere.
 */
export function batchNormGradSums(dy: tf.Tensor, x: tf.Tensor, mean: tf.Tensor1D): { sumDy: tf.Tensor1D; sumDyXmu: tf.Tensor1D } {
  const op = 'batchNormGradSums';
  const channels = channelCount(op, x);
  requireSameShape(op, x, dy, 'dy');
  requireChannelVector(op, mean, channels, 'mean');
  if (hasKernel(BATCH_NORM_GRAD_SUMS)) {
    const [sumDy, sumDyXmu] = tf.engine().runKernel(BATCH_NORM_GRAD_SUMS, { dy, x, mean }) as tf.Tensor1D[];
    return { sumDy: sumDy as tf.Tensor1D, sumDyXmu: sumDyXmu as tf.Tensor1D };
  }
  return tf.tidy(() => {
    const axes = leadingAxes(x);
    return { sumDy: tf.sum(dy, axes) as tf.Tensor1D, sumDyXmu: tf.sum(tf.mul(dy, tf.sub(x, mean)), axes) as tf.Tensor1D };
  });
}
