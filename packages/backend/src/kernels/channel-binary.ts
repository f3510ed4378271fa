import type { KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { trainingKernels } from './training-module.js';
import { heapAddress, requireInput, sizeOf, type WasmKernelBackend } from './wasm-backend.js';
import { runWasmOwnKernel } from './wasm-own-kernels.js';

/** Operation codes of `binary_rows` in csrc/elementwise.c. */
export const BINARY_OP = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3 } as const;
export type ChannelBinaryKernel = keyof typeof BINARY_OP;

/** A [C] or [1, ..., 1, C] operand: a per-channel vector of a [..., C] tensor. */
export function isChannelVector(shape: readonly number[], channels: number, rank: number): boolean {
  return shape.length <= rank && sizeOf(shape) === channels && shape[shape.length - 1] === channels;
}

/**
 * A float32 binary op between a tensor [..., C] and a per-channel vector, in one C pass;
 * batch norm's forward and gradient apply one at every layer. tfjs-backend-wasm's own
 * kernels broadcast with per-element index math at 4x the cost of the same-shape op, so
 * only this case is taken here: every other one (same shapes, scalars, other dtypes, other
 * broadcasts) goes to the original kernel.
 */
export function channelBinary(kernelName: ChannelBinaryKernel, args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const inputs = args.inputs as NamedTensorInfoMap;
  const a = requireInput(inputs, 'a', kernelName);
  const b = requireInput(inputs, 'b', kernelName);
  if (a.dtype === 'float32' && b.dtype === 'float32') {
    const aFull = a.shape.length >= b.shape.length && sizeOf(a.shape) >= sizeOf(b.shape);
    const [full, vec] = aFull ? [a, b] : [b, a];
    const rank = full.shape.length;
    const channels = full.shape[rank - 1] ?? 0;
    if (rank >= 2 && channels > 1 && isChannelVector(vec.shape, channels, rank) && sizeOf(full.shape) > channels) {
      const backend = args.backend as unknown as WasmKernelBackend;
      const out = backend.makeOutput([...full.shape], 'float32');
      trainingKernels(backend).fn.binary_rows(
        BINARY_OP[kernelName], heapAddress(backend, full), heapAddress(backend, vec),
        sizeOf(full.shape) / channels, channels, aFull ? 0 : 1, heapAddress(backend, out),
      );
      return out;
    }
  }
  return runWasmOwnKernel(kernelName, args);
}
