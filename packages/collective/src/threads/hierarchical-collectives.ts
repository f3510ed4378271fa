import { combineInto, combineOpOf, divideInto } from '../reduce/reduce-op.js';
import type { ReduceOp } from '../reduce/reduce-op.js';
import { partition } from '../algorithms/transfer-schedule.js';
import { collectiveError } from '../errors.js';
import { DONE_SEQ, OP_KINDS, REQ_ARRIVED, REQ_COMPRESS, REQ_COUNT, REQ_KIND, REQ_KICK } from './shared-layout.js';
import { REQ_OP, REQ_PROC_HI, REQ_PROC_LO, REQ_ROOT, REQ_SEQ } from './shared-layout.js';
import { ASYNC_ARRIVED, ASYNC_CODE, ASYNC_COUNT, ASYNC_DIVISOR, ASYNC_LOC, ASYNC_PROC_HI, ASYNC_PROC_LO, ASYNC_SEQ, ASYNC_SIG } from './shared-layout.js';
import { ASYNC_SLOTS, asyncField, asyncSignature, resultOffset } from './shared-layout.js';
import type { OpKind } from './shared-layout.js';
import { failSharedOnThrow, throwIfFailed, waitAtLeast } from './shared-sync.js';
import type { ThreadContext } from './thread-context.js';
import type { LocalGroup } from './local-collectives.js';
import type { RankLayout } from '../rank-layout.js';

/**
 * Collectives over every rank of every process: the threads of a process combine in
 * shared memory into the process's buffer R, the last thread to arrive hands R to the
 * comm side (the process's main thread, which owns the sockets) and every thread blocks
 * until the comm side has run the process-level operation on R; then each copies the
 * result out. The comm side is `CommService`. All local threads take part in every
 * operation here, so one R serves them all. A group is a contiguous range of whole
 * processes [lo, hi) (the world, or a `split` into groups of whole processes); its ranks
 * are numbered from process lo's first thread. Processes may host different numbers of
 * threads: R then holds a run of a different length per process for allGather and
 * reduceScatter (the comm side cuts it by the thread counts), and the same length for
 * allReduce and broadcast.
 *
 * `allReduceStart` posts an all-reduce of a buffer in the caller's arena and returns at
 * once: the comm side runs it (local sum of every thread's buffer, then the process-level
 * all-reduce, in place) while the thread goes on computing. Blocking and started requests
 * share one sequence: the comm side serves them strictly in that order, so every process
 * puts them on the wire in the same order however they interleave (SyncBN's collectives
 * between a backward pass's gradient buckets).
 */
export interface ProcessRange {
  readonly lo: number;
  readonly hi: number;
}

/** A started all-reduce (`allReduceStart`). */
export interface PendingCollective {
  /** Whether it has completed (never blocks; throws the group's failure). */
  test(): boolean;
  /**
   * Blocks until it has completed everywhere; throws the group's failure, or a timeout
   * `opTimeoutMs` after the wait began. Once done, later calls return at once.
   */
  wait(): void;
}

export const DONE_COLLECTIVE: PendingCollective = Object.freeze({ test: () => true, wait: () => undefined });

export class HierarchicalCollectives {
  /** Requests handed to the comm side (blocking and started); the same on every local thread. */
  private seq = 0;
  /** Local barriers: their signatures alternate between two sets of regions. */
  private barriers = 0;
  private readonly r: Float32Array;

  constructor(
    private readonly ctx: ThreadContext,
    private readonly world: LocalGroup,
    private readonly processRank: number,
    /** Rank threads of every process; global ranks count from them. */
    private readonly ranks: RankLayout
  ) {
    const at = resultOffset(ctx.layout) >>> 2;
    this.r = ctx.f32.subarray(at, at + ctx.slotElems);
  }

  private get threads(): number {
    return this.world.members.length;
  }

  /** `compress`: the process-level step may use the process group's compressed wire (gradients). */
  allReduce(range: ProcessRange, buf: Float32Array, op: ReduceOp, globalSize: number, compress = false): void {
    this.guard(() => {
      const combine = combineOpOf(op);
      const f32 = this.ctx.f32;
      const arena = this.ctx.arenaElem(buf);
      for (let a = 0; a < buf.length || (a === 0 && buf.length === 0); a += this.ctx.slotElems) {
        const m = Math.min(this.ctx.slotElems, buf.length - a);
        if (this.threads === 1) {
          // One thread per process: nothing to combine locally, the input goes straight to R.
          this.localBarrier(range, 'allReduce', m, compress ? `${op}:compress` : op, -1);
          this.r.set(buf.subarray(a, a + m));
        } else {
          const mine = arena >= 0 ? arena + a : this.ctx.slotElem();
          if (arena < 0) f32.set(buf.subarray(a, a + m), mine);
          this.ctx.setLoc(mine);
          this.localBarrier(range, 'allReduce', m, compress ? `${op}:compress` : op, -1);
          this.reduceOwnSlice(m, mine, combine);
        }
        this.handToComm(range, 'allReduce', combine, m, 0, compress);
        if (op === 'mean') divideInto(buf.subarray(a, a + m), this.r.subarray(0, m), globalSize);
        else buf.set(this.r.subarray(0, m), a);
        if (buf.length === 0) break;
      }
    });
  }

  /**
   * Posts an all-reduce of `buf` (in this thread's arena: `ctx.arenaElem(buf) >= 0`) and
   * returns without waiting. `buf` belongs to the comm side until the returned request
   * has completed: neither read nor write it before `wait()` (or `test()`) says so.
   * Every local thread posts the same requests in the same order, each its own buffer.
   */
  allReduceStart(range: ProcessRange, buf: Float32Array, op: ReduceOp, globalSize: number, compress = false): PendingCollective {
    const loc = this.ctx.arenaElem(buf);
    if (loc < 0) throw collectiveError('COLL_ERR_ARGUMENT', 'allReduceStart: the buffer must come from allocShared');
    let seq = 0;
    this.guard(() => {
      const control = this.ctx.control;
      throwIfFailed(control);
      seq = ++this.seq;
      const entry = seq % ASYNC_SLOTS;
      // The entry's last request must be done (a full queue: wait for the oldest).
      waitAtLeast(control, DONE_SEQ, seq - ASYNC_SLOTS, this.ctx.policy('allReduce', false));
      const code = (op === 'max' ? 1 : 0) + (op === 'mean' ? 2 : 0) + (compress ? 4 : 0);
      const me = this.ctx.localRank;
      Atomics.store(control, asyncField(entry, ASYNC_LOC + me), loc);
      Atomics.store(control, asyncField(entry, ASYNC_SIG + me), asyncSignature(buf.length, code, range));
      if (Atomics.add(control, asyncField(entry, ASYNC_ARRIVED), 1) === this.threads - 1) {
        Atomics.store(control, asyncField(entry, ASYNC_ARRIVED), 0);
        Atomics.store(control, asyncField(entry, ASYNC_COUNT), buf.length);
        Atomics.store(control, asyncField(entry, ASYNC_CODE), code);
        Atomics.store(control, asyncField(entry, ASYNC_PROC_LO), range.lo);
        Atomics.store(control, asyncField(entry, ASYNC_PROC_HI), range.hi);
        Atomics.store(control, asyncField(entry, ASYNC_DIVISOR), globalSize);
        Atomics.store(control, asyncField(entry, ASYNC_SEQ), seq);
        this.kick();
      }
    });
    let done = false;
    const control = this.ctx.control;
    return {
      test: () => {
        if (done) return true;
        if (Atomics.load(control, DONE_SEQ) >= seq) return (done = true);
        throwIfFailed(control);
        return false;
      },
      wait: () => {
        if (done) return;
        this.guard(() => waitAtLeast(control, DONE_SEQ, seq, this.ctx.policy('allReduce', false)));
        done = true;
      }
    };
  }

  broadcast(range: ProcessRange, buf: Float32Array, root: number): void {
    this.guard(() => {
      // `root` counts from the range's first rank; the process-level root from its first process.
      const base = this.ranks.first(range.lo);
      const rootProcess = this.ranks.processOf(base + root) - range.lo;
      const isRoot = root === this.ranks.first(this.processRank) - base + this.world.me;
      for (let a = 0; a < buf.length || (a === 0 && buf.length === 0); a += this.ctx.slotElems) {
        const m = Math.min(this.ctx.slotElems, buf.length - a);
        // The barrier first: R may still be read by threads copying out the last result.
        this.localBarrier(range, 'broadcast', m, '', root);
        if (isRoot) this.r.set(buf.subarray(a, a + m));
        this.handToComm(range, 'broadcast', 'sum', m, rootProcess);
        if (!isRoot) buf.set(this.r.subarray(0, m), a);
        if (buf.length === 0) break;
      }
    });
  }

  allGather(range: ProcessRange, input: Float32Array, output: Float32Array, globalRank: number, globalSize: number): void {
    this.guard(() => {
      const n = input.length;
      const piece = Math.max(1, Math.floor(this.ctx.slotElems / globalSize));
      for (let a = 0; a < n || (a === 0 && n === 0); a += piece) {
        const m = Math.min(piece, n - a);
        this.localBarrier(range, 'allGather', m, '', -1);
        this.r.set(input.subarray(a, a + m), globalRank * m);
        this.handToComm(range, 'allGather', 'sum', m, 0);
        for (let g = 0; g < globalSize; g++) output.set(this.r.subarray(g * m, (g + 1) * m), g * n + a);
        if (n === 0) break;
      }
    });
  }

  reduceScatter(range: ProcessRange, input: Float32Array, output: Float32Array, op: ReduceOp, globalRank: number, globalSize: number): void {
    this.guard(() => {
      const combine = combineOpOf(op);
      const chunk = output.length;
      const piece = Math.max(1, Math.floor(this.ctx.slotElems / globalSize));
      for (let a = 0; a < chunk || (a === 0 && chunk === 0); a += piece) {
        const m = Math.min(piece, chunk - a);
        const mine = this.ctx.stagePieces(input, chunk, globalSize, a, m);
        this.localBarrier(range, 'reduceScatter', m, op, -1);
        this.reduceOwnSlice(m * globalSize, mine, combine);
        this.handToComm(range, 'reduceScatter', combine, m, 0);
        const mineOut = this.r.subarray(globalRank * m, (globalRank + 1) * m);
        if (op === 'mean') divideInto(output.subarray(a, a + m), mineOut, globalSize);
        else output.set(mineOut, a);
        if (chunk === 0) break;
      }
    });
  }

  barrier(range: ProcessRange): void {
    this.guard(() => this.handToComm(range, 'barrier', 'sum', 0, 0));
  }

  /**
   * Combines this thread's slice of the `length` elements every local thread staged (at
   * its `loc`) into R: the threads split the local reduction, each its own slice.
   */
  private reduceOwnSlice(length: number, mine: number, combine: 'sum' | 'max'): void {
    const f32 = this.ctx.f32;
    const bounds = partition(length, this.threads);
    const s = bounds[this.world.me] as number;
    const e = bounds[this.world.me + 1] as number;
    const out = this.r.subarray(s, e);
    out.set(f32.subarray(mine + s, mine + e));
    this.world.members.forEach((r, j) => {
      if (j !== this.world.me) combineInto(out, f32.subarray(this.ctx.loc(r) + s, this.ctx.loc(r) + e), combine);
    });
  }

  private localBarrier(range: ProcessRange, kind: OpKind, count: number, op: string, root: number): void {
    const parity = this.barriers++ & 1;
    const sig = this.ctx.sign(this.world.index, parity, kind, count, op, root, range.lo * 65536 + range.hi);
    this.ctx.barrier(this.world.index, this.threads, this.ctx.policy(kind));
    this.ctx.checkSignatures(this.world.index, parity, this.world.members, sig);
  }

  /** The comm gate: the last thread to arrive posts the request; all wait for its completion. */
  private handToComm(range: ProcessRange, kind: OpKind, combine: 'sum' | 'max', count: number, root: number, compress = false): void {
    const control = this.ctx.control;
    const seq = ++this.seq;
    if (Atomics.add(control, REQ_ARRIVED, 1) === this.threads - 1) {
      Atomics.store(control, REQ_ARRIVED, 0);
      Atomics.store(control, REQ_KIND, OP_KINDS.indexOf(kind));
      Atomics.store(control, REQ_OP, combine === 'max' ? 1 : 0);
      Atomics.store(control, REQ_COUNT, count);
      Atomics.store(control, REQ_ROOT, root);
      Atomics.store(control, REQ_PROC_LO, range.lo);
      Atomics.store(control, REQ_PROC_HI, range.hi);
      Atomics.store(control, REQ_COMPRESS, compress ? 1 : 0);
      Atomics.store(control, REQ_SEQ, seq);
      this.kick();
    }
    // No spinning: the wait is for the network, and a spinning thread would take the
    // core the comm thread needs. Started all-reduces posted before it are served first.
    waitAtLeast(control, DONE_SEQ, seq, this.ctx.policy(kind, false));
  }

  /** Wakes the comm side: a request is ready. */
  private kick(): void {
    Atomics.add(this.ctx.control, REQ_KICK, 1);
    Atomics.notify(this.ctx.control, REQ_KICK);
  }

  private guard(body: () => void): void {
    failSharedOnThrow(this.ctx.control, body);
  }
}
