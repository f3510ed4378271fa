import { Cast } from '@tensorflow/tfjs';
import type { CastAttrs, KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { requireInput, type WasmKernelBackend } from './wasm-backend.js';
import { sharedData } from './identity.js';
import { runWasmOwnKernel } from './wasm-own-kernels.js';

/**
 * A cast to the tensor's own dtype shares its data, like Identity (identity.ts): relu's
 * and square's gradients cast float32 to float32 on every step. Real conversions go to
 * tfjs-backend-wasm's own Cast.
 */
function cast(args: { inputs: NamedTensorInfoMap; backend: WasmKernelBackend; attrs: CastAttrs }): TensorInfo | TensorInfo[] {
  const x = requireInput(args.inputs, 'x', Cast);
  if (x.dtype !== args.attrs.dtype || x.dtype === 'string') {
    return runWasmOwnKernel(Cast, args as unknown as Parameters<KernelFunc>[0]);
  }
  return sharedData(args.backend, x);
}

export const castConfig: KernelConfig = {
  kernelName: Cast,
  backendName: 'wasm',
  kernelFunc: cast as unknown as KernelFunc,
};
