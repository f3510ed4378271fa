import { combineInto, combineOpOf, divideInto } from '../reduce/reduce-op.js';
import type { ReduceOp } from '../reduce/reduce-op.js';
import { partition } from '../algorithms/transfer-schedule.js';
import { DONE_SEQ, OP_KINDS, REQ_ARRIVED, REQ_COMPRESS, REQ_COUNT, REQ_KIND, REQ_OP, REQ_PROC_HI, REQ_PROC_LO, REQ_ROOT, REQ_SEQ } from './shared-layout.js';
import { resultOffset } from './shared-layout.js';
import type { OpKind } from './shared-layout.js';
import { failSharedOnThrow, waitWhileEqual } from './shared-sync.js';
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
 */
export interface ProcessRange {
  readonly lo: number;
  readonly hi: number;
}

export class HierarchicalCollectives {
  private seq = 0;
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
    const parity = this.seq & 1;
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
      Atomics.notify(control, REQ_SEQ);
    }
    // No spinning: the wait is for the network, and a spinning thread would take the
    // core the comm thread needs.
    waitWhileEqual(control, DONE_SEQ, seq - 1, this.ctx.policy(kind, false));
  }

  private guard(body: () => void): void {
    failSharedOnThrow(this.ctx.control, body);
  }
}
