import { collectiveError } from '../errors.js';
import { createSharedMemory, instantiateKernels } from './wasm-kernels.js';
import type { Kernels, SharedMemory } from './wasm-kernels.js';

/**
 * The SIMD kernels bound to one shared wasm memory, plus a scratch region in it for
 * bytes arriving from sockets (they must be in the same memory to be combined there).
 * Engines are found from a buffer's SharedArrayBuffer, per thread: `combineInto` uses
 * the kernels when both operands lie in one registered memory, else plain JavaScript.
 */
export class ReduceEngine {
  readonly buffer: SharedArrayBuffer;
  readonly kernels: Kernels;
  /** Scratch floats for socket bytes on their way into a combine. */
  readonly scratch: Float32Array;
  /**
   * Who has a socket read outstanding into the scratch (node:net `onread` holds the
   * buffer until the next read); nobody else may touch the scratch meanwhile.
   */
  scratchOwner: object | undefined;

  constructor(memory: SharedMemory, scratchByteOffset: number, scratchBytes: number) {
    this.buffer = memory.buffer;
    this.kernels = instantiateKernels(memory);
    this.scratch = new Float32Array(this.buffer, scratchByteOffset, scratchBytes >>> 2);
  }
}

const engines = new WeakMap<ArrayBufferLike, ReduceEngine>();

/** Makes the kernels available for buffers in `memory` on this thread. */
export function registerMemory(memory: SharedMemory, scratchByteOffset: number, scratchBytes: number): ReduceEngine {
  const existing = engines.get(memory.buffer);
  if (existing) return existing;
  const engine = new ReduceEngine(memory, scratchByteOffset, scratchBytes);
  engines.set(memory.buffer, engine);
  return engine;
}

export function engineOf(view: ArrayBufferView): ReduceEngine | undefined {
  return engines.get(view.buffer);
}

/**
 * A Float32Array in its own shared wasm memory, with the SIMD kernels registered on this
 * thread: process-group operations on it run in place (no staging copies). For
 * long-lived buffers (a replica's one flat gradient buffer, reused every step); each
 * takes whole 64 KiB wasm pages.
 */
export function allocReduceBuffer(length: number): Float32Array {
  if (!Number.isInteger(length) || length < 0) throw collectiveError('COLL_ERR_ARGUMENT', `allocReduceBuffer(${length})`);
  const bytes = Math.ceil((length * 4) / 64) * 64;
  const memory = createSharedMemory(bytes + BUFFER_SCRATCH_BYTES);
  registerMemory(memory, bytes, BUFFER_SCRATCH_BYTES);
  return new Float32Array(memory.buffer, 0, length);
}

const BUFFER_SCRATCH_BYTES = 256 * 1024;
