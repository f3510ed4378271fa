/**
 * Layout of a thread group's shared memory: named slot indices (like piscina's
 * symbols.ts) so every thread reads the same field by the same name.
 *
 * control: Int32Array over `ThreadGroupHandle.control`
 * data:    bytes of `ThreadGroupHandle.data`:
 *          [ slot 0 | ... | slot T-1 | result R | small regions | arena 0 | ... | arena T-1 | scratch ]
 *   slot t:  rank t's staging copy of its input (large operations)
 *   R:       the process's buffer for the process-level step (hierarchical groups)
 *   small:   per group, per parity, per member: inputs of small operations, which take
 *            one barrier instead of two by alternating between two sets of regions
 *   arena t: buffers rank t allocated with `allocShared` (zero-copy operations)
 *   scratch: the main thread's landing zone for socket bytes combined into R (hierarchical)
 * `data` is a shared WebAssembly memory so the SIMD kernels can combine in place.
 */
export const MAX_THREADS = 31; // members of a group are a 31-bit mask
export const MAX_GROUPS = 16;

/** 0 open; FAILING while a failure is being written; FAILED once code/peer are readable. */
export const STATE = 0;
export const STATE_OPEN = 0;
export const STATE_FAILING = 1;
export const STATE_FAILED = 2;
export const ERR_CODE = 1;
export const ERR_PEER = 2; // -1: none
/** Comm side: sequence of the latest request from the rank threads (hierarchical groups). */
export const REQ_SEQ = 3;
/** Comm side: sequence of the latest completed request. */
export const DONE_SEQ = 4;
export const REQ_KIND = 5;
export const REQ_OP = 6;
export const REQ_COUNT = 7;
export const REQ_ROOT = 8;
/** Rank threads that reached the comm gate of the current request. */
export const REQ_ARRIVED = 9;
/** Local ranks that have joined (bitmask). */
export const JOINED = 10;
/** Comm side: the request's group, as a range of process ranks [lo, hi). */
export const REQ_PROC_LO = 11;
export const REQ_PROC_HI = 12;
/** Comm side: 1 when the request's all-reduce may travel compressed between processes. */
export const REQ_COMPRESS = 13;
/** Per local rank: element index in `data` of its input for the current operation. */
export const LOC_BASE = 16;
/**
 * Per group, parity and local rank: signature of the rank's operation (kind, count, op,
 * root), compared after the barrier to catch ranks that called different operations.
 * Indexed by parity because after a one-barrier operation a fast rank may already be
 * writing the next signature while a slow one still compares.
 */
export const SIG_BASE = LOC_BASE + MAX_THREADS + 1;
export function sigIndex(group: number, parity: number, rank: number): number {
  return SIG_BASE + (group * 2 + parity) * (MAX_THREADS + 1) + rank;
}
/** Per group: member mask (0: free), barrier arrivals, barrier generation. */
export const GROUP_BASE = SIG_BASE + MAX_GROUPS * 2 * (MAX_THREADS + 1);
export const GROUP_STRIDE = 4;
export const GROUP_KEY = 0;
export const GROUP_COUNT = 1;
export const GROUP_GEN = 2;
/**
 * Comm side: bumped (and notified) by every request a rank thread posts, blocking or
 * started (`allReduceStart`): the comm side sleeps on it. Requests are served strictly in
 * sequence order, one at a time, whatever their kind: DONE_SEQ = s means every request up
 * to s has completed.
 */
export const REQ_KICK = GROUP_BASE + MAX_GROUPS * GROUP_STRIDE;
/**
 * Started all-reduces (`allReduceStart`) waiting for, or in, the comm side: a ring of
 * ASYNC_SLOTS entries, request s in entry s % ASYNC_SLOTS. A rank thread reuses an entry
 * once the request that held it is done (DONE_SEQ >= s - ASYNC_SLOTS).
 */
export const ASYNC_SLOTS = 32;
export const ASYNC_BASE = REQ_KICK + 1;
/** Per entry: the request's sequence once every local rank has posted it (the comm side serves it then). */
export const ASYNC_SEQ = 0;
/** Local ranks that posted the entry's current request. */
export const ASYNC_ARRIVED = 1;
export const ASYNC_COUNT = 2;
/** Combine op (0 sum, 1 max), + 2 for mean (divide by ASYNC_DIVISOR), + 4 when it may travel compressed. */
export const ASYNC_CODE = 3;
export const ASYNC_PROC_LO = 4;
export const ASYNC_PROC_HI = 5;
export const ASYNC_DIVISOR = 6;
/** Per local rank: element index in `data` of its buffer (in its arena). */
export const ASYNC_LOC = 8;
/** Per local rank: signature of its call (count, code, range), compared by the comm side. */
export const ASYNC_SIG = ASYNC_LOC + MAX_THREADS + 1;
export const ASYNC_STRIDE = ASYNC_SIG + MAX_THREADS + 1;
export function asyncField(entry: number, field: number): number {
  return ASYNC_BASE + entry * ASYNC_STRIDE + field;
}
/** What the comm side compares across a started all-reduce's local threads. */
export function asyncSignature(count: number, code: number, range: { readonly lo: number; readonly hi: number }): number {
  return (Math.imul(count + 1, 0x9e3779b1) ^ Math.imul(code + 1, 0x85ebca6b) ^ Math.imul(range.lo * 65536 + range.hi + 1, 0xc2b2ae35)) | 0;
}
export const CONTROL_INTS = ASYNC_BASE + ASYNC_SLOTS * ASYNC_STRIDE;

export const OP_KINDS = ['allReduce', 'broadcast', 'allGather', 'reduceScatter', 'barrier'] as const;
export type OpKind = (typeof OP_KINDS)[number];
/** Ops in signatures; `:compress` marks an all-reduce that may travel compressed (all threads must agree). */
export const REDUCE_CODES = ['sum', 'mean', 'max', 'sum:compress', 'mean:compress', 'max:compress'] as const;

export function groupField(group: number, field: number): number {
  return GROUP_BASE + group * GROUP_STRIDE + field;
}

export interface DataLayout {
  readonly threads: number;
  readonly slotBytes: number;
  readonly smallBytes: number;
  readonly arenaBytes: number;
}

export function slotOffset(l: DataLayout, rank: number): number {
  return rank * l.slotBytes;
}

export function resultOffset(l: DataLayout): number {
  return l.threads * l.slotBytes;
}

export function smallOffset(l: DataLayout, group: number, parity: number, member: number): number {
  return (l.threads + 1) * l.slotBytes + ((group * 2 + parity) * l.threads + member) * l.smallBytes;
}

export function arenaOffset(l: DataLayout, rank: number): number {
  return smallOffset(l, MAX_GROUPS, 0, 0) + rank * l.arenaBytes;
}

export const SCRATCH_BYTES = 256 * 1024;

export function scratchOffset(l: DataLayout): number {
  return arenaOffset(l, l.threads);
}

export function dataBytes(l: DataLayout): number {
  return scratchOffset(l) + SCRATCH_BYTES;
}
