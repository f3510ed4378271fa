import { binomialBroadcast } from '../algorithms/tree.js';
import { disseminationBarrier } from '../algorithms/dissemination.js';
import { recursiveDoublingAllReduce } from '../algorithms/recursive-doubling.js';
import { ringAllGather, ringAllGatherParts, ringAllReduce, ringReduceScatter, ringReduceScatterParts } from '../algorithms/ring.js';
import { collectiveError } from '../errors.js';
import { runSchedule } from '../algorithms/run-schedule.js';
import type { ExecutionContext } from '../algorithms/run-schedule.js';
import { stagedPlacement } from '../algorithms/staged-placement.js';
import type { StagedPlacement } from '../algorithms/staged-placement.js';
import type { Link } from '../transport/link.js';
import { checkReduceOp, combineOpOf, divideInto } from '../reduce/reduce-op.js';
import type { CombineOp, ReduceOp } from '../reduce/reduce-op.js';
import type { Schedule } from '../algorithms/transfer-schedule.js';
import { engineOf, registerMemory } from '../reduce/reduce-engine.js';
import { createSharedMemory } from '../reduce/wasm-kernels.js';
import { settleToWire } from '../transport/wire-codec.js';
import type { WireDtype } from '../transport/wire-codec.js';

const STAGING_SCRATCH_BYTES = 256 * 1024;

export type AllReduceAlgorithm = 'auto' | 'ring' | 'recursive-doubling';

export interface AlgorithmOptions {
  /**
   * All-reduces of at most this many bytes use recursive doubling (fewer rounds), larger
   * ones the ring (less data per rank). Default from bench/allreduce on loopback (2 cores):
   * recursive doubling's p50 was lower up to 64 KB and level at 256 KB for P = 2 and 4,
   * the ring's clearly lower from 1 MB.
   */
  readonly smallBytes: number;
  /**
   * Ring/tree pipelining unit in bytes: a segment is sent while the next one is combined.
   * Default 4 MiB: every frame costs a fixed share of CPU on top of its bytes (header,
   * MAC context, small writes and wake-ups), and on 2 vCPUs a 16 MB ring over 4 processes
   * used about 12 % less CPU per all-reduce with 4 MiB segments than with 1 MiB, the same
   * over 2 processes (bench/allreduce and process.cpuUsage, issue 18 part 4).
   */
  readonly segmentBytes: number;
  /** Force one all-reduce algorithm (benchmarks); `auto` picks by `smallBytes`. */
  readonly algorithm: AllReduceAlgorithm;
}

export const DEFAULT_ALGORITHM_OPTIONS: AlgorithmOptions = Object.freeze({
  smallBytes: 256 * 1024,
  segmentBytes: 4 * 1024 * 1024,
  algorithm: 'auto'
});

const CACHE_LIMIT = 64;

/**
 * Collectives of one group, run as schedules over links: the part of a process group
 * that knows algorithms but not sockets. Operations run one after another in call order
 * (each takes the next sequence number), because links are FIFOs shared by all of them.
 */
export class ScheduleCollectives {
  private seq = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly cache = new Map<string, Schedule>();
  private staging: Float32Array | undefined;
  private readonly placements = new WeakMap<Schedule, StagedPlacement | null>();

  constructor(
    readonly rank: number,
    readonly size: number,
    readonly group: string,
    private readonly linkTo: (peer: number) => Link,
    readonly options: AlgorithmOptions = DEFAULT_ALGORITHM_OPTIONS
  ) {}

  /** `dt`: how the values travel between ranks (halves are summed in float32 at every hop). */
  allReduce(buf: Float32Array, op: ReduceOp, dt: WireDtype = 'float32'): Promise<void> {
    checkReduceOp(op);
    const algorithm = this.pickAllReduce(buf.byteLength);
    return this.enqueue(async (seq) => {
      const schedule = this.cached(`${algorithm}:${buf.length}`, () =>
        algorithm === 'ring'
          ? ringAllReduce(this.rank, this.size, buf.length, this.segmentElems())
          : recursiveDoublingAllReduce(this.rank, this.size, buf.length)
      );
      // Staged in part: only what is combined into goes through the staging memory. A
      // mean's division and a lossy wire's rounding run over the whole result, in the
      // staging memory's kernels, so those stage it all.
      const placement = dt === 'float32' && op !== 'mean' && !engineOf(buf) ? this.placementOf(schedule) : undefined;
      if (placement) {
        const staging = this.stage(buf.length);
        for (const [offset, count] of placement.copyIn) staging.set(buf.subarray(offset, offset + count), offset);
        await this.run(schedule, buf, seq, combineOpOf(op), dt, { buffer: staging, placement });
        for (const [offset, count] of placement.copyOut) buf.set(staging.subarray(offset, offset + count), offset);
        return;
      }
      const work = this.workBuffer(buf);
      await this.run(schedule, work, seq, combineOpOf(op), dt);
      settleToWire(dt, work);
      if (op === 'mean') divideInto(work, work, this.size);
      if (work !== buf) buf.set(work);
    });
  }

  /** `stagedPlacement` of a cached schedule, computed once (null: the rule does not apply). */
  private placementOf(schedule: Schedule): StagedPlacement | undefined {
    let placement = this.placements.get(schedule);
    if (placement === undefined) this.placements.set(schedule, (placement = stagedPlacement(schedule) ?? null));
    return placement ?? undefined;
  }

  broadcast(buf: Float32Array, root: number): Promise<void> {
    this.checkRank(root, 'root');
    return this.enqueue((seq) =>
      this.run(
        this.cached(`bcast:${root}:${buf.length}`, () => binomialBroadcast(this.rank, this.size, buf.length, root, this.segmentElems())),
        buf,
        seq,
        'sum'
      )
    );
  }

  /** output = concatenation of every rank's input, in rank order. */
  allGather(input: Float32Array, output: Float32Array): Promise<void> {
    if (output.length !== input.length * this.size) {
      throw collectiveError('COLL_ERR_ARGUMENT', `allGather output must hold ${this.size} x ${input.length} elements, has ${output.length}`);
    }
    return this.enqueue((seq) => {
      output.set(input, this.rank * input.length);
      return this.run(this.cached(`ag:${input.length}`, () => ringAllGather(this.rank, this.size, input.length, this.segmentElems())), output, seq, 'sum');
    });
  }

  /** output = this rank's chunk of the reduction of every rank's input; input is left as it was. */
  reduceScatter(input: Float32Array, output: Float32Array, op: ReduceOp): Promise<void> {
    checkReduceOp(op);
    if (input.length !== output.length * this.size) {
      throw collectiveError('COLL_ERR_ARGUMENT', `reduceScatter input must hold ${this.size} x ${output.length} elements, has ${input.length}`);
    }
    return this.enqueue(async (seq) => {
      const work = this.stage(input.length);
      work.set(input);
      const chunk = output.length;
      await this.run(this.cached(`rs:${chunk}`, () => ringReduceScatter(this.rank, this.size, chunk, this.segmentElems())), work, seq, combineOpOf(op));
      const mine = work.subarray(this.rank * chunk, (this.rank + 1) * chunk);
      if (op === 'mean') divideInto(output, mine, this.size);
      else output.set(mine);
    });
  }

  /**
   * All-gather in place over parts of any sizes: rank q's part is buf[bounds[q],
   * bounds[q+1]) and this rank's part is already there; every rank ends with all parts.
   */
  allGatherParts(buf: Float32Array, bounds: readonly number[]): Promise<void> {
    this.checkBounds(buf, bounds, 'allGatherParts');
    return this.enqueue((seq) =>
      this.run(this.cached(`agp:${bounds.join(',')}`, () => ringAllGatherParts(this.rank, this.size, bounds, this.segmentElems())), buf, seq, 'sum')
    );
  }

  /**
   * Reduce-scatter in place over parts of any sizes: every rank's `buf` holds its
   * contribution to every part; this rank ends with part [bounds[rank], bounds[rank+1])
   * reduced. The rest of `buf` is scratch afterwards.
   */
  reduceScatterParts(buf: Float32Array, bounds: readonly number[], combine: CombineOp): Promise<void> {
    this.checkBounds(buf, bounds, 'reduceScatterParts');
    return this.enqueue(async (seq) => {
      const work = this.workBuffer(buf);
      const schedule = this.cached(`rsp:${bounds.join(',')}`, () => ringReduceScatterParts(this.rank, this.size, bounds, this.segmentElems()));
      await this.run(schedule, work, seq, combine);
      if (work !== buf) buf.set(work.subarray(bounds[this.rank], bounds[this.rank + 1]), bounds[this.rank]);
    });
  }

  barrier(): Promise<void> {
    return this.enqueue((seq) => this.run(this.cached('barrier', () => disseminationBarrier(this.rank, this.size)), new Float32Array(0), seq, 'sum'));
  }

  /**
   * Where a combining operation runs: in place when `buf` lies in a wasm memory with the
   * SIMD kernels (a thread group's shared memory), else in this group's staging memory —
   * two copies, far cheaper than adding in plain JavaScript (~3 ns a float here).
   */
  private workBuffer(buf: Float32Array): Float32Array {
    if (engineOf(buf)) return buf;
    const work = this.stage(buf.length);
    work.set(buf);
    return work;
  }

  private stage(length: number): Float32Array {
    if (!this.staging || this.staging.length < length) {
      let bytes = 1 << 20;
      while (bytes < length * 4) bytes *= 2;
      const memory = createSharedMemory(bytes + STAGING_SCRATCH_BYTES);
      registerMemory(memory, bytes, STAGING_SCRATCH_BYTES);
      this.staging = new Float32Array(memory.buffer, 0, bytes >>> 2);
    }
    return this.staging.subarray(0, length);
  }

  private checkBounds(buf: Float32Array, bounds: readonly number[], what: string): void {
    const descends = bounds.some((b, i) => i > 0 && b < (bounds[i - 1] as number));
    if (bounds.length !== this.size + 1 || bounds[0] !== 0 || bounds[this.size] !== buf.length || descends) {
      throw collectiveError('COLL_ERR_ARGUMENT', `${what}: bounds [${bounds.join(',')}] do not cut ${buf.length} elements into ${this.size} parts`);
    }
  }

  private pickAllReduce(bytes: number): 'ring' | 'recursive-doubling' {
    if (this.options.algorithm !== 'auto') return this.options.algorithm;
    return bytes <= this.options.smallBytes ? 'recursive-doubling' : 'ring';
  }

  private segmentElems(): number {
    return Math.max(1, Math.floor(this.options.segmentBytes / 4));
  }

  private checkRank(rank: number, what: string): void {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.size) {
      throw collectiveError('COLL_ERR_ARGUMENT', `${what} ${rank} is not a rank of a group of ${this.size}`);
    }
  }

  private run(
    schedule: Schedule,
    buf: Float32Array,
    seq: number,
    combine: 'sum' | 'max',
    dt: WireDtype = 'float32',
    staging?: ExecutionContext['staging']
  ): Promise<void> {
    const context: ExecutionContext = { group: this.group, seq, combine, linkTo: this.linkTo };
    return runSchedule(schedule, buf, { ...context, ...(dt === 'float32' ? {} : { dt }), ...(staging ? { staging } : {}) });
  }

  private enqueue(body: (seq: number) => Promise<void>): Promise<void> {
    const seq = this.seq++;
    const result = this.tail.then(() => body(seq));
    // The next operation waits for this one whether it succeeds or not; its own
    // failure is reported to its own caller through `result`.
    this.tail = result.catch(() => undefined);
    return result;
  }

  private cached(key: string, make: () => Schedule): Schedule {
    let schedule = this.cache.get(key);
    if (!schedule) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
      schedule = make();
      this.cache.set(key, schedule);
    }
    return schedule;
  }
}
