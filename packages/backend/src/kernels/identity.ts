import { Identity } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { requireInput, type WasmKernelBackend } from './wasm-backend.js';
import { runWasmOwnKernel } from './wasm-own-kernels.js';

/**
 * Identity shares the input's data (one more reference) instead of copying it, as the cpu
 * backend does. Tensors on the wasm heap are never written after their kernel returns, so
 * sharing is safe, and it matters: tfjs clones every tensor a gradient saves, which on
 * wasm copied about 30 activations per cnn-bn step (7 ms).
 */
function identity(args: { inputs: NamedTensorInfoMap; backend: WasmKernelBackend }): TensorInfo | TensorInfo[] {
  const x = requireInput(args.inputs, 'x', Identity);
  if (x.dtype === 'string') return runWasmOwnKernel(Identity, args as unknown as Parameters<KernelFunc>[0]);
  return sharedData(args.backend, x);
}

/** A new tensor on `x`'s data (one more reference to it, no copy). */
export function sharedData(backend: WasmKernelBackend, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: identity as unknown as KernelFunc,
};
