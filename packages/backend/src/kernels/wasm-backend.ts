import type { DataType, TensorInfo, backend_util } from '@tensorflow/tfjs';
import { BackendError } from '../errors.js';

/**
 * The part of tfjs-backend-wasm's `BackendWasm` that kernels written here use: tensors
 * live on the wasm heap, `typedArrayFromHeap` views them without a copy, and `wasm` is
 * the Emscripten module whose exports hold that heap's `WebAssembly.Memory`. Declared
 * structurally so no kernel reaches into the backend package's internals.
 */
export interface WasmKernelBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): backend_util.TypedArray;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  /** Tensors sharing this data on this backend; 0 when the data lives on another backend. */
  refCount(dataId: object): number;
  wasm: {
    /** The instance's exports (Emscripten names them `asm`); `memory` is the heap. */
    asm?: Record<string, unknown>;
    _malloc(bytes: number): number;
    _free(address: number): void;
  };
}

/** Address of a tensor's data on the wasm heap, for the C kernels of training-module.ts. */
export function heapAddress(backend: WasmKernelBackend, info: TensorInfo): number {
  return backend.typedArrayFromHeap(info).byteOffset;
}

export function requireInput(inputs: Record<string, TensorInfo | undefined>, name: string, kernel: string): TensorInfo {
  const info = inputs[name];
  if (info === undefined) throw new BackendError('BACKEND_ERR_MISSING_INPUT', `${kernel} needs input ${name}`);
  return info;
}

export function requireFloat32(info: TensorInfo, kernel: string): void {
  if (info.dtype !== 'float32') throw new BackendError('BACKEND_ERR_UNSUPPORTED', `${kernel} on wasm supports float32 tensors only, got ${info.dtype}`);
}

export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}
