import type { AllReduceOptions, Communicator } from '../communicator.js';
import { collectiveError } from '../errors.js';
import { DONE_COLLECTIVE, HierarchicalCollectives } from './hierarchical-collectives.js';
import type { PendingCollective, ProcessRange } from './hierarchical-collectives.js';
import { LocalCollectives } from './local-collectives.js';
import type { LocalGroup } from './local-collectives.js';
import { RankLayout } from '../rank-layout.js';
import { checkReduceOp } from '../reduce/reduce-op.js';
import type { ReduceOp } from '../reduce/reduce-op.js';
import { GROUP_KEY, JOINED, MAX_GROUPS, arenaOffset, groupField } from './shared-layout.js';
import { throwIfFailed } from './shared-sync.js';
import { ThreadContext } from './thread-context.js';
import { checkHandle } from './thread-group-handle.js';

/** What a rank thread gets from `joinThreadGroup`: the blocking communicator plus shared buffers. */
export interface ThreadCommunicator extends Communicator {
  /** Local rank of this thread within its process. */
  readonly localRank: number;
  /**
   * A zero-filled buffer in shared memory. Collectives on it skip the copy into and out
   * of shared memory (other threads read and write it in place). Taken from this rank's
   * arena (`arenaBytes`), never freed: allocate long-lived buffers (the rank's one flat
   * gradient buffer, reused every step).
   */
  allocShared(length: number): Float32Array;
  /**
   * Whether `allReduceStart(buf)` overlaps: returns at once while the all-reduce runs on
   * the process's comm side. True in a group over several processes for a buffer from
   * `allocShared` (or a range of one); otherwise `allReduceStart` is the blocking
   * `allReduce`.
   */
  overlapsAllReduce(buf: Float32Array): boolean;
  /**
   * Starts an all-reduce of `buf` and returns without waiting (see `overlapsAllReduce`);
   * `wait()` on the result blocks until it is done, with the group's deadline counted from
   * the wait. Until then `buf` belongs to the collective: do not read or write it. It is
   * ordered with every other collective of this rank as if it ran at the call: all ranks
   * make the same calls in the same order, blocking or started (e.g. SyncBN's collectives
   * between gradient buckets), and the comm side serves them in that order.
   */
  allReduceStart(buf: Float32Array, op?: ReduceOp, options?: AllReduceOptions): PendingCollective;
  split(ranks: readonly number[]): ThreadCommunicator;
}

/**
 * Joins the thread group of `handle` (from `ThreadGroup.handle`, passed through
 * workerData) as local rank `localRank`; every local rank joins exactly once. The
 * communicator is synchronous: each call blocks this thread (Atomics.wait) until the
 * operation completes everywhere, fails, or passes its deadline.
 */
export function joinThreadGroup(handle: unknown, localRank: number): ThreadCommunicator {
  const h = checkHandle(handle);
  if (!Number.isInteger(localRank) || localRank < 0 || localRank >= h.threads) {
    throw collectiveError('COLL_ERR_ARGUMENT', `local rank ${localRank} is not in 0..${h.threads - 1}`);
  }
  const ctx = new ThreadContext(h, localRank);
  const bit = 1 << localRank;
  if ((Atomics.or(ctx.control, JOINED, bit) & bit) !== 0) {
    throw collectiveError('COLL_ERR_ARGUMENT', `local rank ${localRank} has already joined this thread group`);
  }
  throwIfFailed(ctx.control);
  const members = Array.from({ length: h.threads }, (_, r) => r);
  const world: LocalGroup = { index: 0, members, me: localRank };
  const local = new LocalCollectives(ctx);
  const ranks = new RankLayout(h.process?.localSizes ?? [h.threads]);
  const processRank = h.process?.rank ?? 0;
  const hierarchical =
    ranks.processes > 1 ? { collectives: new HierarchicalCollectives(ctx, world, processRank, ranks), range: { lo: 0, hi: ranks.processes } } : undefined;
  const globalRanks = Array.from({ length: ranks.total }, (_, g) => g);
  return new GroupCommunicator(ctx, local, hierarchical, world, ranks, ranks.first(processRank), globalRanks, { used: 0 });
}

class GroupCommunicator implements ThreadCommunicator {
  constructor(
    private readonly ctx: ThreadContext,
    private readonly local: LocalCollectives,
    /** Set for groups over whole processes (the world, or a split into whole processes) when there are several. */
    private readonly hierarchical: { readonly collectives: HierarchicalCollectives; readonly range: ProcessRange } | undefined,
    private readonly group: LocalGroup,
    /** Rank threads of every process (the world's global ranks count from them). */
    private readonly ranks: RankLayout,
    /** Global rank of local rank 0 of this process. */
    private readonly base: number,
    /** Global ranks of this communicator's members, in rank order. */
    private readonly globalRanks: readonly number[],
    private readonly arena: { used: number }
  ) {}

  get rank(): number {
    return this.globalRanks.indexOf(this.base + this.ctx.localRank);
  }

  get size(): number {
    return this.globalRanks.length;
  }

  get localRank(): number {
    return this.ctx.localRank;
  }

  /** `options.compress` applies only between processes: threads of this process always reduce exactly. */
  allReduce(buf: Float32Array, op: ReduceOp = 'sum', options?: AllReduceOptions): void {
    checkReduceOp(op);
    checkBuffer(buf, 'buf');
    if (this.hierarchical) this.hierarchical.collectives.allReduce(this.hierarchical.range, buf, op, this.size, options?.compress === true);
    else this.local.allReduce(this.group, buf, op, this.size);
  }

  overlapsAllReduce(buf: Float32Array): boolean {
    return this.hierarchical !== undefined && buf instanceof Float32Array && this.ctx.arenaElem(buf) >= 0;
  }

  allReduceStart(buf: Float32Array, op: ReduceOp = 'sum', options?: AllReduceOptions): PendingCollective {
    checkReduceOp(op);
    checkBuffer(buf, 'buf');
    if (!this.hierarchical || !this.overlapsAllReduce(buf)) {
      this.allReduce(buf, op, options);
      return DONE_COLLECTIVE;
    }
    return this.hierarchical.collectives.allReduceStart(this.hierarchical.range, buf, op, this.size, options?.compress === true);
  }

  broadcast(buf: Float32Array, root: number): void {
    checkBuffer(buf, 'buf');
    this.checkRoot(root);
    if (this.hierarchical) this.hierarchical.collectives.broadcast(this.hierarchical.range, buf, root);
    else this.local.broadcast(this.group, buf, root);
  }

  allGather(input: Float32Array, output: Float32Array): void {
    checkBuffer(input, 'input');
    checkBuffer(output, 'output');
    if (output.length !== input.length * this.size) {
      throw collectiveError('COLL_ERR_ARGUMENT', `allGather output must hold ${this.size} x ${input.length} elements, has ${output.length}`);
    }
    if (this.hierarchical) this.hierarchical.collectives.allGather(this.hierarchical.range, input, output, this.rank, this.size);
    else this.local.allGather(this.group, input, output);
  }

  reduceScatter(input: Float32Array, output: Float32Array, op: ReduceOp = 'sum'): void {
    checkReduceOp(op);
    checkBuffer(input, 'input');
    checkBuffer(output, 'output');
    if (input.length !== output.length * this.size) {
      throw collectiveError('COLL_ERR_ARGUMENT', `reduceScatter input must hold ${this.size} x ${output.length} elements, has ${input.length}`);
    }
    if (this.hierarchical) this.hierarchical.collectives.reduceScatter(this.hierarchical.range, input, output, op, this.rank, this.size);
    else this.local.reduceScatter(this.group, input, output, op, this.size);
  }

  barrier(): void {
    if (this.hierarchical) this.hierarchical.collectives.barrier(this.hierarchical.range);
    else this.local.barrier(this.group);
  }

  split(ranks: readonly number[]): ThreadCommunicator {
    const sorted = [...new Set(ranks)].sort((a, b) => a - b);
    if (sorted.length !== ranks.length || sorted.some((r) => !Number.isInteger(r) || r < 0 || r >= this.size) || !sorted.includes(this.rank)) {
      throw collectiveError('COLL_ERR_ARGUMENT', `split: [${ranks.join(',')}] must be distinct ranks of 0..${this.size - 1} including ${this.rank}`);
    }
    const globals = sorted.map((r) => this.globalRanks[r] as number);
    if (globals.length === this.globalRanks.length) return this;
    const locals = globals.map((g) => g - this.base);
    if (locals.some((l) => l < 0 || l >= this.ctx.handle.threads)) return this.splitProcesses(ranks, globals);
    const group: LocalGroup = { index: this.claimGroup(locals), members: locals, me: locals.indexOf(this.ctx.localRank) };
    return new GroupCommunicator(this.ctx, this.local, undefined, group, this.ranks, this.base, globals, this.arena);
  }

  /** A subgroup over whole processes: all threads of a contiguous range of processes. */
  private splitProcesses(ranks: readonly number[], globals: readonly number[]): ThreadCommunicator {
    const layout = this.ranks;
    const lo = layout.processOf(globals[0] as number);
    const hi = layout.processOf(globals[globals.length - 1] as number) + 1;
    const first = layout.first(lo);
    const whole = globals.length === layout.first(hi) - first && globals.every((g, i) => g === first + i);
    if (!this.hierarchical || !whole) {
      throw collectiveError(
        'COLL_ERR_UNSUPPORTED',
        `split: [${ranks.join(',')}] spans processes partially; a subgroup must lie within one process ` +
          `or be all ranks of consecutive processes (rank threads per process: ${layout.sizes.join(',')})`
      );
    }
    if (hi - lo === 1) {
      // One whole process: the local (shared-memory only) group of all its threads.
      return new GroupCommunicator(this.ctx, this.local, undefined, this.worldLocal(), layout, this.base, globals, this.arena);
    }
    const range = { lo, hi };
    const crossProcess = { collectives: this.hierarchical.collectives, range };
    return new GroupCommunicator(this.ctx, this.local, crossProcess, this.group, layout, this.base, globals, this.arena);
  }

  private worldLocal(): LocalGroup {
    const members = Array.from({ length: this.ctx.handle.threads }, (_, r) => r);
    return { index: 0, members, me: this.ctx.localRank };
  }

  allocShared(length: number): Float32Array {
    if (!Number.isInteger(length) || length < 0) throw collectiveError('COLL_ERR_ARGUMENT', `allocShared(${length})`);
    const bytes = length * 4;
    if (this.arena.used + bytes > this.ctx.handle.arenaBytes) {
      throw collectiveError(
        'COLL_ERR_ARGUMENT',
        `allocShared: ${bytes} bytes do not fit in the ${this.ctx.handle.arenaBytes}-byte arena (ThreadGroupOptions.arenaBytes)`
      );
    }
    const at = arenaOffset(this.ctx.layout, this.ctx.localRank) + this.arena.used;
    this.arena.used += bytes;
    return new Float32Array(this.ctx.data, at, length);
  }

  private checkRoot(root: number): void {
    if (!Number.isInteger(root) || root < 0 || root >= this.size) {
      throw collectiveError('COLL_ERR_ARGUMENT', `root ${root} is not a rank of a group of ${this.size}`);
    }
  }

  /** Finds or claims the table entry of this member set; the first member to arrive claims it. */
  private claimGroup(locals: readonly number[]): number {
    const key = locals.reduce((mask, l) => mask | (1 << l), 0);
    const control = this.ctx.control;
    for (let g = 1; g < MAX_GROUPS; g++) {
      const at = groupField(g, GROUP_KEY);
      const seen = Atomics.compareExchange(control, at, 0, key);
      if (seen === 0 || seen === key) return g;
    }
    throw collectiveError('COLL_ERR_UNSUPPORTED', `split: more than ${MAX_GROUPS - 1} distinct subgroups in one process`);
  }
}

function checkBuffer(buf: unknown, what: string): void {
  if (!(buf instanceof Float32Array)) throw collectiveError('COLL_ERR_ARGUMENT', `${what} must be a Float32Array`);
}
