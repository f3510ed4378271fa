import type { AllReduceOptions, PendingCollective, ReduceOp } from '@tfjs-ddp/collective';
import type { BatchNormGroup } from '@tfjs-ddp/nn';

/**
 * What a distributed replica needs of its group: the blocking collectives of a rank
 * thread. A `ThreadCommunicator` of @tfjs-ddp/collective is one (structurally); the host
 * joins the group and hands it in, so the trainer never creates a group itself. Tests
 * inject fakes.
 */
export interface ReplicaCommunicator {
  readonly rank: number;
  readonly size: number;
  /** Reduces `buf` across the group, in place; every rank ends with the same bits. */
  allReduce(buf: Float32Array, op?: ReduceOp, options?: AllReduceOptions): void;
  /** Copies `root`'s `buf` into every rank's `buf`. */
  broadcast(buf: Float32Array, root: number): void;
  /** `output` (size x input.length) receives every rank's `input`, in rank order. */
  allGather(input: Float32Array, output: Float32Array): void;
  /** A sub-group (BN groups of `sync:K`); every listed rank makes the same call. */
  split(ranks: readonly number[]): BatchNormGroup;
  /**
   * A buffer in the group's shared memory (collectives on it work in place); fails with
   * code `COLL_ERR_ARGUMENT` when it does not fit.
   */
  allocShared(length: number): Float32Array;
  /**
   * Whether `allReduceStart` on `buf` returns before the all-reduce is done (a group over
   * several processes, `buf` from `allocShared`). Without it (test fakes) the gradients
   * are all-reduced in one blocking call after backward.
   */
  overlapsAllReduce?(buf: Float32Array): boolean;
  /** Starts an all-reduce of `buf` (ordered with every other collective as if it ran here); `wait()` on the result blocks until it is done. */
  allReduceStart?(buf: Float32Array, op?: ReduceOp, options?: AllReduceOptions): PendingCollective;
}
