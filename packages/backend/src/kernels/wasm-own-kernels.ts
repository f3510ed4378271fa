import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { BackendError } from '../errors.js';

/**
 * tfjs-backend-wasm's own configs of the kernels this package replaces, kept when
 * `registerWasmTrainingKernels` unregisters them, so a replacement can hand back the
 * cases it does not cover (other dtypes, other axes) to the original.
 */
const originals = new Map<string, KernelConfig>();
const setUp = new WeakMap<KernelConfig, WeakSet<object>>();

export function rememberWasmOwnKernel(config: KernelConfig): void {
  originals.set(config.kernelName, config);
}

export function hasWasmOwnKernel(kernelName: string): boolean {
  return originals.has(kernelName);
}

/** Runs tfjs-backend-wasm's own kernel `kernelName` on the same arguments. */
export function runWasmOwnKernel(kernelName: string, args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const original = originals.get(kernelName);
  if (original === undefined) throw new BackendError('BACKEND_ERR_KERNEL_SETUP', `tfjs-backend-wasm has no own ${kernelName} kernel to fall back to`);
  // Its setupFunc (which binds the C function) runs when the backend initializes, but only
  // for kernels registered then; ours may have replaced it before that moment.
  let backends = setUp.get(original);
  if (backends === undefined) setUp.set(original, (backends = new WeakSet()));
  if (!backends.has(args.backend)) {
    original.setupFunc?.(args.backend);
    backends.add(args.backend);
  }
  return original.kernelFunc(args);
}
