import type { backend_util, TensorInfo } from '@tensorflow/tfjs';
import { patchBlockRows } from './conv-geometry.js';
import { trainingKernels } from './training-module.js';
import { heapAddress, type WasmKernelBackend } from './wasm-backend.js';

/**
 * Runs one of the C conv drivers (csrc/conv.c) with a scratch block of patch rows, which
 * lives only for the call.
 */
export function runConvDriver(
  backend: WasmKernelBackend,
  info: backend_util.Conv2DInfo,
  call: (blockRows: number, cols: number, gemmScratch: number) => void,
): void {
  const blockRows = patchBlockRows(info);
  const taps = info.filterHeight * info.filterWidth * info.inChannels;
  const cols: TensorInfo = backend.makeOutput([blockRows * taps], 'float32');
  try {
    call(blockRows, heapAddress(backend, cols), trainingKernels(backend).gemmScratch);
  } finally {
    backend.disposeData(cols.dataId);
  }
}

