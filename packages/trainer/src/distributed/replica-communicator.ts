import type { AllReduceOptions, ReduceOp } from '@tfjs-ddp/collective';
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
}
