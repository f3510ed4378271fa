import { collectiveError } from '../errors.js';
import { CONTROL_INTS, MAX_THREADS } from './shared-layout.js';
import type { SharedMemory } from '../reduce/wasm-kernels.js';

/**
 * Everything a rank thread needs to join a thread group, and nothing that cannot cross
 * `workerData`: a SharedArrayBuffer, a shared WebAssembly.Memory (its buffer is a
 * SharedArrayBuffer; the memory itself is needed to run the SIMD kernels on it) and numbers.
 */
export interface ThreadGroupHandle {
  readonly kind: 'tfjs-ddp/thread-group@1';
  /** Rank threads in this process. */
  readonly threads: number;
  readonly control: SharedArrayBuffer;
  /** Shared WebAssembly.Memory holding slots, R, small regions, arenas (see shared-layout.ts). */
  readonly memory: SharedMemory;
  /** Per-rank staging for large operations; larger buffers are processed in pieces. */
  readonly slotBytes: number;
  /** Operations on at most this many bytes (per rank) take the one-barrier path. */
  readonly smallBytes: number;
  /** Per-rank space for `allocShared` (zero-copy buffers). */
  readonly arenaBytes: number;
  readonly opTimeoutMs: number;
  /** Spin this long before sleeping in a barrier. */
  readonly spinMicros: number;
  /**
   * Set for a hierarchical group: this process's place among the processes, and the
   * rank threads of every process (indexed by process rank) that global ranks count from.
   */
  readonly process: { readonly rank: number; readonly size: number; readonly localSizes: readonly number[] } | null;
}

export function checkHandle(value: unknown): ThreadGroupHandle {
  const h = value as Partial<ThreadGroupHandle> | null;
  if (
    h === null ||
    typeof h !== 'object' ||
    h.kind !== 'tfjs-ddp/thread-group@1' ||
    !(h.control instanceof SharedArrayBuffer) ||
    typeof h.memory !== 'object' ||
    h.memory === null ||
    !(h.memory.buffer instanceof SharedArrayBuffer) ||
    h.control.byteLength < CONTROL_INTS * 4 ||
    typeof h.threads !== 'number' ||
    h.threads < 1 ||
    h.threads > MAX_THREADS ||
    (h.process !== null && !processFits(h.process, h.threads))
  ) {
    throw collectiveError('COLL_ERR_ARGUMENT', 'not a thread group handle (pass ThreadGroup.handle through workerData as is)');
  }
  return h as ThreadGroupHandle;
}

function processFits(p: ThreadGroupHandle['process'] | undefined, threads: number): boolean {
  return (
    typeof p === 'object' &&
    p !== null &&
    Array.isArray(p.localSizes) &&
    p.localSizes.length === p.size &&
    Number.isInteger(p.rank) &&
    p.localSizes[p.rank] === threads &&
    p.localSizes.every((n) => Number.isInteger(n) && n >= 1)
  );
}
