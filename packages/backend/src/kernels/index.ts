// Loaded first so that its own kernels are registered before ours can replace them.
import '@tensorflow/tfjs-backend-wasm';
import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { addConfig } from './add.js';
import { batchMatMulConfig } from './batch-mat-mul.js';
import { batchNormGradInputConfig } from './batch-norm-grad-input.js';
import { batchNormGradSumsConfig } from './batch-norm-grad-sums.js';
import { castConfig } from './cast.js';
import { channelMomentsConfig } from './channel-moments.js';
import { conv2DConfig } from './conv2d.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwise-conv2d-native-backprop-filter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwise-conv2d-native-backprop-input.js';
import { fusedBatchNormConfig } from './fused-batch-norm.js';
import { fusedConv2DConfig } from './fused-conv2d.js';
import { identityConfig } from './identity.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { meanConfig } from './mean.js';
import { multiplyConfig } from './multiply.js';
import { realDivConfig } from './real-div.js';
import { subConfig } from './sub.js';
import { sumConfig } from './sum.js';
import { tileConfig } from './tile.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';
import { rememberWasmOwnKernel } from './wasm-own-kernels.js';

/**
 * Training kernels tfjs-backend-wasm lacks (Conv2DBackpropFilter, the depthwise
 * gradients, UnsortedSegmentSum), those it has but too slow for a training step, which
 * replace its own (each file says what was slow and by how much), and the per-channel
 * batch-norm kernels behind `channelMoments`, `batchNormGradSums`, `batchNormGradInput`.
 */
export const wasmTrainingKernels: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  unsortedSegmentSumConfig,
  batchMatMulConfig,
  maxPoolGradConfig,
  tileConfig,
  sumConfig,
  meanConfig,
  identityConfig,
  castConfig,
  fusedBatchNormConfig,
  addConfig,
  subConfig,
  multiplyConfig,
  realDivConfig,
  channelMomentsConfig,
  batchNormGradSumsConfig,
  batchNormGradInputConfig,
  conv2DConfig,
  fusedConv2DConfig,
];

/**
 * Registers every kernel of `wasmTrainingKernels` not registered yet. A kernel that
 * tfjs-backend-wasm registered itself is unregistered first (tfjs refuses to register a
 * name twice) and kept, so the replacement can fall back to it. Idempotent, so every
 * rank thread may call it. Returns the names registered by this call.
 */
export function registerWasmTrainingKernels(): string[] {
  const registered: string[] = [];
  for (const config of wasmTrainingKernels) {
    const existing = getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing !== undefined) {
      rememberWasmOwnKernel(existing);
      unregisterKernel(config.kernelName, config.backendName);
    }
    registerKernel(config);
    registered.push(config.kernelName);
  }
  return registered;
}
