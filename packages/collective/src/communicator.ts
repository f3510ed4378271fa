import type { ReduceOp } from './reduce/reduce-op.js';

export interface AllReduceOptions {
  /**
   * The values tolerate a lossy wire (gradients): between processes they travel in the
   * process group's `compress` format (bfloat16 or float16 halves), each hop decodes
   * and adds in float32, and every rank still ends with the same bits. Threads of one
   * process reduce exactly in shared memory either way; without a `compress` format this
   * changes nothing.
   */
  readonly compress?: boolean;
}

/**
 * The collective operations, in two flavours: `Communicator` blocks (rank threads, whose
 * tfjs forward/backward cannot await) and `AsyncCommunicator` returns promises (a
 * process's main thread). Every operation has a deadline and fails with a
 * `CollectiveError` whose `code` says why and whose `peer` says which rank, if one is to
 * blame. All ranks of a group call the same operations in the same order.
 */
export interface Communicator {
  /** This rank within the group, 0..size-1. */
  readonly rank: number;
  readonly size: number;
  /** Reduces `buf` across the group, in place; every rank ends with the same bits. */
  allReduce(buf: Float32Array, op?: ReduceOp, options?: AllReduceOptions): void;
  /** Copies `root`'s `buf` into every rank's `buf`. */
  broadcast(buf: Float32Array, root: number): void;
  /** `output` (size x input.length) receives every rank's `input`, in rank order. */
  allGather(input: Float32Array, output: Float32Array): void;
  /** `output` receives this rank's chunk (input.length / size) of the reduction of every `input`. */
  reduceScatter(input: Float32Array, output: Float32Array, op?: ReduceOp): void;
  barrier(): void;
  /**
   * A communicator over a subset of this group's ranks (sorted, must include this rank);
   * every listed rank must make the same call. Ranks are renumbered 0..ranks.length-1.
   */
  split(ranks: readonly number[]): Communicator;
}

export interface AsyncCommunicator {
  readonly rank: number;
  readonly size: number;
  allReduce(buf: Float32Array, op?: ReduceOp, options?: AllReduceOptions): Promise<void>;
  broadcast(buf: Float32Array, root: number): Promise<void>;
  allGather(input: Float32Array, output: Float32Array): Promise<void>;
  reduceScatter(input: Float32Array, output: Float32Array, op?: ReduceOp): Promise<void>;
  barrier(): Promise<void>;
  split(ranks: readonly number[]): AsyncCommunicator;
}
