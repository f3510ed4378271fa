/**
 * The ranks whose batch-norm statistics are merged. Calls block until every member of
 * the group has made the same call (tfjs forward/backward is synchronous, so the layer
 * cannot await); results must be bit-identical on every member, or replicas drift.
 * A blocking `Communicator` of `@tfjs-ddp/collective` is one (structurally); tests
 * inject fakes.
 */
export interface BatchNormGroup {
  /** Members of the group. */
  readonly size: number;
  /** This replica's index in the group, 0 .. size-1. */
  readonly rank: number;
  /** `output` (size x input.length) receives every member's `input`, in rank order. */
  allGather(input: Float32Array, output: Float32Array): void;
  /** Element-wise sum over the members, in place. */
  allReduce(buffer: Float32Array, op?: 'sum'): void;
}

/** A group of one: plain, unsynchronized batch normalization. */
export const LOCAL_BATCH_NORM_GROUP: BatchNormGroup = Object.freeze({
  size: 1,
  rank: 0,
  allGather: (input: Float32Array, output: Float32Array) => output.set(input),
  allReduce: () => undefined,
});
