import * as tf from '@tensorflow/tfjs';
import { heapMemory, trainingKernels, type TrainingKernels } from '../kernels/training-module.js';
import type { WasmKernelBackend } from '../kernels/wasm-backend.js';
import { BackendError } from '../errors.js';

/**
 * The active backend as the C kernels see it, when it is tfjs-backend-wasm with this
 * package's kernels: the fused paths (a dense stack's whole step, an optimizer's update)
 * run on its heap, and bypass tfjs's engine altogether.
 */
export interface WasmHeap {
  backend: WasmKernelBackend;
  kernels: TrainingKernels;
}

/** The active backend's heap, or undefined when the active backend is not wasm. */
export function activeWasmHeap(): WasmHeap | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as WasmKernelBackend;
  return { backend, kernels: trainingKernels(backend) };
}

/** Whether `tensor`'s data lives on `backend` (not on another backend it has yet to move from). */
export function livesOn(backend: WasmKernelBackend, tensor: tf.Tensor): boolean {
  return !tensor.isDisposed && tensor.dtype === 'float32' && backend.refCount(tensor.dataId) > 0;
}

/**
 * Whether `tensor` may be written in place: its data lives on `backend` and no other
 * tensor shares it (tf.clone, identity and a variable's initial value share data).
 */
export function ownsItsData(backend: WasmKernelBackend, tensor: tf.Tensor): boolean {
  return !tensor.isDisposed && tensor.dtype === 'float32' && backend.refCount(tensor.dataId) === 1;
}

/** A float32 buffer of its own on a wasm heap (malloc'd once, freed by `free`). */
export class HeapFloats {
  readonly backend: WasmKernelBackend;
  readonly address: number;
  readonly length: number;
  private freed = false;

  constructor(backend: WasmKernelBackend, length: number) {
    this.backend = backend;
    this.length = length;
    // 16-byte aligned by malloc; at least one float so that the address is never 0.
    this.address = backend.wasm._malloc(Math.max(1, length) * 4);
    if (this.address === 0) throw new BackendError('BACKEND_ERR_KERNEL_SETUP', `could not allocate ${length * 4} bytes on the wasm heap`);
  }

  /** A view of `length` floats from float `offset` (valid until the heap grows: take a new one after any kernel call). */
  view(offset = 0, length = this.length - offset): Float32Array {
    return new Float32Array(heapMemory(this.backend).buffer, this.address + offset * 4, length);
  }

  /** Address of float `offset`. */
  at(offset: number): number {
    return this.address + offset * 4;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.backend.wasm._free(this.address);
  }
}
