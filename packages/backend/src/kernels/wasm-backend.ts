import type { DataType, TensorInfo, backend_util } from '@tensorflow/tfjs';

/**
 * The part of tfjs-backend-wasm's `BackendWasm` that kernels written in TypeScript use:
 * tensors live on the wasm heap, `typedArrayFromHeap` views them without a copy.
 * Declared structurally so no kernel reaches into the backend package's internals.
 */
export interface WasmKernelBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): backend_util.TypedArray;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

export function float32FromHeap(backend: WasmKernelBackend, info: TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Float32Array)) {
    throw new TypeError(`expected a float32 tensor, got ${info.dtype}`);
  }
  return view;
}
