import { getKernel, registerKernel } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';

/** Training kernels tfjs-backend-wasm lacks, or has too slow for a training step. */
export const wasmTrainingKernels: readonly KernelConfig[] = [conv2DBackpropFilterConfig];

/**
 * Registers every kernel of `wasmTrainingKernels` that is not registered yet. Idempotent,
 * so every rank thread may call it. Returns the names registered by this call.
 */
export function registerWasmTrainingKernels(): string[] {
  const registered: string[] = [];
  for (const config of wasmTrainingKernels) {
    if (getKernel(config.kernelName, config.backendName) === undefined) {
      registerKernel(config);
      registered.push(config.kernelName);
    }
  }
  return registered;
}
