import { collectiveError } from '../errors.js';
import { barrierWait } from './shared-sync.js';
import type { WaitPolicy } from './shared-sync.js';
import { registerMemory } from '../reduce/reduce-engine.js';
import { GROUP_COUNT, GROUP_GEN, LOC_BASE, OP_KINDS, REDUCE_CODES } from './shared-layout.js';
import { arenaOffset, groupField, scratchOffset, sigIndex, slotOffset, smallOffset } from './shared-layout.js';
import type { DataLayout, OpKind } from './shared-layout.js';
import type { ThreadGroupHandle } from './thread-group-handle.js';

/** One rank thread's view of its thread group's shared memory. */
export class ThreadContext {
  readonly control: Int32Array;
  readonly data: SharedArrayBuffer;
  readonly f32: Float32Array;
  readonly layout: DataLayout;
  readonly slotElems: number;
  /** Global rank of this process's local rank 0: errors blame global ranks. */
  readonly firstRank: number;

  constructor(
    readonly handle: ThreadGroupHandle,
    readonly localRank: number
  ) {
    this.control = new Int32Array(handle.control);
    this.data = handle.memory.buffer;
    this.f32 = new Float32Array(this.data);
    this.layout = { threads: handle.threads, slotBytes: handle.slotBytes, smallBytes: handle.smallBytes, arenaBytes: handle.arenaBytes };
    // Rank threads never receive from sockets: no scratch for them.
    registerMemory(handle.memory, scratchOffset(this.layout), 0);
    this.slotElems = handle.slotBytes >>> 2;
    const p = handle.process;
    this.firstRank = p ? p.localSizes.slice(0, p.rank).reduce((a, b) => a + b, 0) : 0;
  }

  policy(what: string, spin = true): WaitPolicy {
    return { spinMicros: spin ? this.handle.spinMicros : 0, deadline: Date.now() + this.handle.opTimeoutMs, what };
  }

  /** Element index of this rank's staging slot. */
  slotElem(rank = this.localRank): number {
    return slotOffset(this.layout, rank) >>> 2;
  }

  smallView(group: number, parity: number, member: number, length: number): Float32Array {
    const at = smallOffset(this.layout, group, parity, member) >>> 2;
    return this.f32.subarray(at, at + length);
  }

  /**
   * Element index of `buf` if it lies in this rank's arena (allocated with `allocShared`),
   * so other threads can read and write it in place; otherwise -1.
   */
  arenaElem(buf: Float32Array): number {
    if (buf.buffer !== this.data) return -1;
    const start = arenaOffset(this.layout, this.localRank);
    if (buf.byteOffset < start || buf.byteOffset + buf.byteLength > start + this.layout.arenaBytes) return -1;
    return buf.byteOffset >>> 2;
  }

  setLoc(elem: number): void {
    Atomics.store(this.control, LOC_BASE + this.localRank, elem);
  }

  /**
   * Stages elements [a, a + m) of each of the `parts` chunks (of `chunk` elements) of
   * `input` one after another in this thread's slot, publishes the slot as its location,
   * and returns its start: a reduce-scatter's pieces, which are not contiguous in place.
   */
  stagePieces(input: Float32Array, chunk: number, parts: number, a: number, m: number): number {
    const mine = this.slotElem();
    for (let j = 0; j < parts; j++) this.f32.set(input.subarray(j * chunk + a, j * chunk + a + m), mine + j * m);
    this.setLoc(mine);
    return mine;
  }

  loc(rank: number): number {
    return Atomics.load(this.control, LOC_BASE + rank);
  }

  barrier(group: number, members: number, policy: WaitPolicy): void {
    barrierWait(this.control, groupField(group, GROUP_COUNT), groupField(group, GROUP_GEN), members, policy);
  }

  /** Publishes this rank's operation signature for `checkSignatures` after the barrier. */
  sign(group: number, parity: number, kind: OpKind, count: number, op: string, root: number, extra = 0): number {
    const sig = signature(kind, count, op, root) ^ Math.imul(extra + 1, 0x165667b1);
    Atomics.store(this.control, sigIndex(group, parity, this.localRank), sig);
    return sig;
  }

  /** After the barrier: every member called the same operation with the same sizes. */
  checkSignatures(group: number, parity: number, members: readonly number[], sig: number): void {
    for (const m of members) {
      if (Atomics.load(this.control, sigIndex(group, parity, m)) !== sig) {
        const [them, me] = [this.firstRank + m, this.firstRank + this.localRank];
        throw collectiveError('COLL_ERR_DESYNC', `rank ${them} called a different collective (operation, size or root) than rank ${me}`, them);
      }
    }
  }
}

function signature(kind: OpKind, count: number, op: string, root: number): number {
  const k = OP_KINDS.indexOf(kind);
  const o = (REDUCE_CODES as readonly string[]).indexOf(op);
  return (Math.imul(Math.imul(k + 1, 0x9e3779b1) ^ (o + 2), 0x85ebca6b) ^ Math.imul(count + 1, 0xc2b2ae35) ^ Math.imul(root + 3, 0x27d4eb2f)) | 0;
}
