/** A mini-batch as flat typed arrays: `x` is [count, ...inputShape], `y` the class of each sample. */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  count: number;
}

/**
 * A labelled classification data set held in memory. Only typed arrays cross this
 * interface, so the coordinator can stream samples without loading tfjs.
 */
export interface Dataset {
  readonly name: string;
  readonly size: number;
  /** Shape of one sample, e.g. [28, 28, 1]. */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** The samples at `indices`, in that order. */
  batch(indices: ArrayLike<number>): Batch;
  /** A content hash (hex) so two processes can check they hold the same data. */
  fingerprint(): string;
}
