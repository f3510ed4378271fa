import type { BatchNormGroup } from '@tfjs-ddp/nn';

/** A batch-norm group that adds the time spent in its collectives to a running total. */
export class TimedBatchNormGroup implements BatchNormGroup {
  /** Milliseconds spent inside allGather/allReduce since the last `take()`. */
  private elapsedMs = 0;
  /** Called after each collective that completed (the overlapped all-reduce starts buckets held for it). */
  afterCollective: () => void = () => undefined;

  constructor(private inner: BatchNormGroup) {}

  /** Points the layers that hold this group at a new one (the ring was re-formed). */
  replace(inner: BatchNormGroup): void {
    this.inner = inner;
  }

  get size(): number {
    return this.inner.size;
  }

  get rank(): number {
    return this.inner.rank;
  }

  allGather(input: Float32Array, output: Float32Array): void {
    const start = performance.now();
    try {
      this.inner.allGather(input, output);
    } finally {
      this.elapsedMs += performance.now() - start;
    }
    this.afterCollective();
  }

  allReduce(buffer: Float32Array): void {
    const start = performance.now();
    try {
      this.inner.allReduce(buffer, 'sum');
    } finally {
      this.elapsedMs += performance.now() - start;
    }
    this.afterCollective();
  }

  /** The time accumulated since the last call, and a fresh start. */
  take(): number {
    const elapsed = this.elapsedMs;
    this.elapsedMs = 0;
    return elapsed;
  }
}
