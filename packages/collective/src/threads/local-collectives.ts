import { failSharedOnThrow } from './shared-sync.js';
import { combineInto, combineOpOf, divideInto } from '../reduce/reduce-op.js';
import type { ReduceOp } from '../reduce/reduce-op.js';
import { partition } from '../algorithms/transfer-schedule.js';
import type { ThreadContext } from './thread-context.js';

/** A set of threads of one process that run collectives together. */
export interface LocalGroup {
  /** Entry in the control block's group table. */
  readonly index: number;
  /** Local ranks of the members, ascending. */
  readonly members: readonly number[];
  /** This thread's position in `members`. */
  readonly me: number;
}

/**
 * Collectives among threads of one process, in shared memory, no sockets and no comm
 * thread. Small operations: each rank writes its input to its region, one barrier, and
 * every rank combines all regions in member order (the same bits everywhere); regions
 * alternate between two sets so the next operation cannot overwrite what a slow rank is
 * still reading. Large operations: each rank's input is in shared memory (its staging
 * slot, or in place when allocated with `allocShared`), barrier, each rank reduces its own
 * slice of all inputs and writes the result into every member's buffer, barrier.
 */
export class LocalCollectives {
  private readonly parities = new Map<number, number>();

  constructor(private readonly ctx: ThreadContext) {}

  allReduce(g: LocalGroup, buf: Float32Array, op: ReduceOp, divisor: number): void {
    const k = g.members.length;
    const parity = this.nextParity(g);
    this.guard(g, () => {
      const policy = this.ctx.policy('allReduce');
      const sig = this.ctx.sign(g.index, parity, 'allReduce', buf.length, op, -1);
      const combine = combineOpOf(op);
      if (buf.byteLength <= this.ctx.handle.smallBytes) {
        this.ctx.smallView(g.index, parity, g.me, buf.length).set(buf);
        this.ctx.barrier(g.index, k, policy);
        this.ctx.checkSignatures(g.index, parity, g.members, sig);
        buf.set(this.ctx.smallView(g.index, parity, 0, buf.length));
        for (let j = 1; j < k; j++) combineInto(buf, this.ctx.smallView(g.index, parity, j, buf.length), combine);
        if (op === 'mean') divideInto(buf, buf, divisor);
        return;
      }
      const f32 = this.ctx.f32;
      const arena = this.ctx.arenaElem(buf);
      for (let a = 0; a < buf.length; a += this.ctx.slotElems) {
        const m = Math.min(this.ctx.slotElems, buf.length - a);
        const mine = arena >= 0 ? arena + a : this.ctx.slotElem();
        if (arena < 0) f32.set(buf.subarray(a, a + m), mine);
        this.ctx.setLoc(mine);
        this.ctx.barrier(g.index, k, policy);
        if (a === 0) this.ctx.checkSignatures(g.index, parity, g.members, sig);
        const bounds = partition(m, k);
        const s = bounds[g.me] as number;
        const e = bounds[g.me + 1] as number;
        const dst = f32.subarray(mine + s, mine + e);
        const others = g.members.filter((_, j) => j !== g.me).map((r) => this.ctx.loc(r));
        for (const at of others) combineInto(dst, f32.subarray(at + s, at + e), combine);
        if (op === 'mean') divideInto(dst, dst, divisor);
        for (const at of others) f32.set(dst, at + s);
        this.ctx.barrier(g.index, k, policy);
        if (arena < 0) buf.set(f32.subarray(mine, mine + m), a);
      }
    });
  }

  broadcast(g: LocalGroup, buf: Float32Array, root: number): void {
    const k = g.members.length;
    const parity = this.nextParity(g);
    this.guard(g, () => {
      const policy = this.ctx.policy('broadcast');
      const sig = this.ctx.sign(g.index, parity, 'broadcast', buf.length, '', root);
      if (buf.byteLength <= this.ctx.handle.smallBytes) {
        if (g.me === root) this.ctx.smallView(g.index, parity, root, buf.length).set(buf);
        this.ctx.barrier(g.index, k, policy);
        this.ctx.checkSignatures(g.index, parity, g.members, sig);
        if (g.me !== root) buf.set(this.ctx.smallView(g.index, parity, root, buf.length));
        return;
      }
      const f32 = this.ctx.f32;
      const arena = this.ctx.arenaElem(buf);
      for (let a = 0; a < buf.length; a += this.ctx.slotElems) {
        const m = Math.min(this.ctx.slotElems, buf.length - a);
        if (g.me === root) {
          const mine = arena >= 0 ? arena + a : this.ctx.slotElem();
          if (arena < 0) f32.set(buf.subarray(a, a + m), mine);
          this.ctx.setLoc(mine);
        }
        this.ctx.barrier(g.index, k, policy);
        if (a === 0) this.ctx.checkSignatures(g.index, parity, g.members, sig);
        if (g.me !== root) {
          const at = this.ctx.loc(g.members[root] as number);
          buf.set(f32.subarray(at, at + m), a);
        }
        this.ctx.barrier(g.index, k, policy);
      }
    });
  }

  allGather(g: LocalGroup, input: Float32Array, output: Float32Array): void {
    const k = g.members.length;
    const n = input.length;
    const parity = this.nextParity(g);
    this.guard(g, () => {
      const policy = this.ctx.policy('allGather');
      const sig = this.ctx.sign(g.index, parity, 'allGather', n, '', -1);
      if (input.byteLength <= this.ctx.handle.smallBytes) {
        this.ctx.smallView(g.index, parity, g.me, n).set(input);
        this.ctx.barrier(g.index, k, policy);
        this.ctx.checkSignatures(g.index, parity, g.members, sig);
        for (let j = 0; j < k; j++) output.set(this.ctx.smallView(g.index, parity, j, n), j * n);
        return;
      }
      const f32 = this.ctx.f32;
      const arena = this.ctx.arenaElem(input);
      for (let a = 0; a < n; a += this.ctx.slotElems) {
        const m = Math.min(this.ctx.slotElems, n - a);
        const mine = arena >= 0 ? arena + a : this.ctx.slotElem();
        if (arena < 0) f32.set(input.subarray(a, a + m), mine);
        this.ctx.setLoc(mine);
        this.ctx.barrier(g.index, k, policy);
        if (a === 0) this.ctx.checkSignatures(g.index, parity, g.members, sig);
        g.members.forEach((r, j) => {
          const at = this.ctx.loc(r);
          output.set(f32.subarray(at, at + m), j * n + a);
        });
        this.ctx.barrier(g.index, k, policy);
      }
    });
  }

  reduceScatter(g: LocalGroup, input: Float32Array, output: Float32Array, op: ReduceOp, divisor: number): void {
    const k = g.members.length;
    const chunk = output.length;
    const parity = this.nextParity(g);
    this.guard(g, () => {
      const policy = this.ctx.policy('reduceScatter');
      const sig = this.ctx.sign(g.index, parity, 'reduceScatter', chunk, op, -1);
      const combine = combineOpOf(op);
      const f32 = this.ctx.f32;
      // Pieces of each chunk, staged as k consecutive sub-chunks (always copied).
      const pieceElems = Math.max(1, Math.floor(this.ctx.slotElems / k));
      for (let a = 0; a < chunk || (a === 0 && chunk === 0); a += pieceElems) {
        const m = Math.min(pieceElems, chunk - a);
        this.ctx.stagePieces(input, chunk, k, a, m);
        this.ctx.barrier(g.index, k, policy);
        if (a === 0) this.ctx.checkSignatures(g.index, parity, g.members, sig);
        const out = output.subarray(a, a + m);
        g.members.forEach((r, j) => {
          const part = f32.subarray(this.ctx.loc(r) + g.me * m, this.ctx.loc(r) + (g.me + 1) * m);
          if (j === 0) out.set(part);
          else combineInto(out, part, combine);
        });
        if (op === 'mean') divideInto(out, out, divisor);
        this.ctx.barrier(g.index, k, policy);
        if (chunk === 0) break;
      }
    });
  }

  barrier(g: LocalGroup): void {
    const parity = this.nextParity(g);
    this.guard(g, () => {
      const sig = this.ctx.sign(g.index, parity, 'barrier', 0, '', -1);
      this.ctx.barrier(g.index, g.members.length, this.ctx.policy('barrier'));
      this.ctx.checkSignatures(g.index, parity, g.members, sig);
    });
  }

  private nextParity(g: LocalGroup): number {
    const count = this.parities.get(g.index) ?? 0;
    this.parities.set(g.index, count + 1);
    return count & 1;
  }

  /** A failure inside an operation fails the whole group: the others must not wait for this rank. */
  private guard(_g: LocalGroup, body: () => void): void {
    failSharedOnThrow(this.ctx.control, body);
  }
}
