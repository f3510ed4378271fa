import type { PendingCollective } from '@tfjs-ddp/collective';
import type { GradientCapture } from '../gradient-capture.js';
import type { ReplicaCommunicator } from './replica-communicator.js';

/** Elements [start, end) of the flat gradient buffer: variables [firstVariable, endVariable). */
export interface GradientBucket {
  readonly start: number;
  readonly end: number;
  readonly firstVariable: number;
  readonly endVariable: number;
}

/**
 * Cuts the flat gradient buffer (variables of `sizes` elements, in order) into buckets
 * from its end, where backward starts: whole variables, each bucket at least
 * `bucketBytes` (but the last, at the buffer's start). Bucket 0 holds the last variables.
 */
export function planBuckets(sizes: readonly number[], bucketBytes: number): GradientBucket[] {
  const buckets: GradientBucket[] = [];
  const limit = Math.max(1, Math.floor(bucketBytes / 4));
  let end = sizes.reduce((a, b) => a + b, 0);
  let endVariable = sizes.length;
  let elements = 0;
  for (let v = sizes.length - 1; v >= 0; v--) {
    elements += sizes[v] as number;
    if (elements >= limit || v === 0) {
      buckets.push({ start: end - elements, end, firstVariable: v, endVariable });
      end -= elements;
      endVariable = v;
      elements = 0;
    }
  }
  return buckets;
}

/** When each bucket of the last step started, counted in gradients captured so far (for the tests and the bench). */
export interface OverlapReport {
  readonly buckets: number;
  /** Trainable variables whose gradient backward delivered (the rest were read after it). */
  readonly captured: number;
  /** Per bucket: gradients captured when its all-reduce started (`captured`: after backward). */
  readonly startedAfter: readonly number[];
}

/**
 * One step's bucketed all-reduce of the flat gradient buffer: as backward delivers each
 * variable's gradient (`ready`), the buckets it completes start their all-reduce, in
 * bucket order. `finish` starts the buckets backward did not complete (variables it never
 * delivered) and waits for all of them.
 *
 * Every rank starts the same buckets in the same order between the same SyncBN
 * collectives: backward delivers gradients, and runs SyncBN's collectives, in the order of
 * the tape, the same on every rank. The comm side serves requests in order, so a SyncBN
 * collective waits for every bucket started before it; SyncBN's backward collective comes
 * right after the gradients of the layers above it (cnn-bn: the dense layers' 400 KB, then
 * at once BN2's 64 floats). With `holdForNextEvent` (a backward with collectives) a
 * completed bucket starts at the next event instead — the next SyncBN collective's end
 * (`event`), the next gradient, or backward's end — so that the small collective goes
 * first and the bucket then overlaps the compute after it, instead of the collective
 * waiting for the bucket.
 */
export class BucketedAllReduce implements GradientCapture {
  private readonly bucketOf: Int32Array;
  private readonly missing: Int32Array;
  private pending: PendingCollective[] = [];
  /** The next bucket to start; all of them (none to start) outside a step. */
  private next: number;
  private captured = 0;
  private startedAfter: number[] = [];

  constructor(
    readonly buckets: readonly GradientBucket[],
    private readonly gradients: Float32Array,
    private readonly communicator: Pick<Required<ReplicaCommunicator>, 'allReduceStart'>,
    /** Start a completed bucket at the next event, not at once (see above). */
    private readonly holdForNextEvent: boolean,
    /** Test hook: start nothing until `finish` (a fault the overlap test must catch). */
    private readonly startAtEnd = false,
  ) {
    const variables = buckets.reduce((n, b) => Math.max(n, b.endVariable), 0);
    this.bucketOf = new Int32Array(variables);
    buckets.forEach((b, k) => this.bucketOf.fill(k, b.firstVariable, b.endVariable));
    this.missing = new Int32Array(buckets.length);
    this.next = buckets.length;
  }

  /** A new step: no bucket started yet. */
  begin(): void {
    this.buckets.forEach((b, k) => (this.missing[k] = b.endVariable - b.firstVariable));
    this.pending = [];
    this.next = 0;
    this.captured = 0;
    this.startedAfter = [];
  }

  ready(variable: number): void {
    // Buckets held for an event start before this gradient counts: it is the event.
    this.event();
    this.captured++;
    const k = this.bucketOf[variable] as number;
    this.missing[k] = (this.missing[k] as number) - 1;
    if (!this.holdForNextEvent) this.event();
  }

  /** Starts the buckets that are complete (in bucket order): an event of backward (a SyncBN collective ended). */
  event(): void {
    if (this.startAtEnd) return;
    while (this.next < this.buckets.length && this.missing[this.next] === 0) this.start();
  }

  /** Starts what backward left, waits for every bucket; returns the step's overlap report. */
  finish(): OverlapReport {
    while (this.next < this.buckets.length) this.start();
    for (const p of this.pending) p.wait();
    return { buckets: this.buckets.length, captured: this.captured, startedAfter: this.startedAfter };
  }

  /** A step that failed part-way: nothing left to start or wait for (the group has failed, or the step will be redone). */
  abandon(): void {
    this.next = this.buckets.length;
    this.pending = [];
  }

  private start(): void {
    const b = this.buckets[this.next++] as GradientBucket;
    this.startedAfter.push(this.captured);
    // Only the gradients may travel compressed between processes (when the job asks for it).
    this.pending.push(this.communicator.allReduceStart(this.gradients.subarray(b.start, b.end), 'sum', { compress: true }));
  }
}
