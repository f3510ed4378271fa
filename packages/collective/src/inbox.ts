import type { DataMessage, FrameSink, Message } from '@tfjs-ddp/protocol';
import { collectiveError } from './errors.js';
import type { CollectiveError } from './errors.js';
import type { DataTag } from './link.js';
import { combineInto } from './reduce-op.js';
import type { CombineOp } from './reduce-op.js';

interface Posted {
  readonly tag: DataTag;
  readonly into: Float32Array;
  readonly combine: CombineOp | undefined;
  readonly resolve: () => void;
  readonly reject: (err: CollectiveError) => void;
}

interface Early {
  readonly message: DataMessage;
  readonly payload: Uint8Array;
}

/**
 * Receive side of a link: matches arriving data frames to posted receives, in order.
 * When the receive is already posted, a copy lands straight in the destination and a
 * combine is applied chunk by chunk while the rest of the frame is still arriving. A
 * frame that arrives before its receive is posted (the peer is ahead) is kept until it is
 * posted; past `maxEarlyBytes` the link is asked to stop reading (TCP backpressure).
 */
export class Inbox implements Pick<FrameSink, 'payloadTarget' | 'payloadProgress'> {
  private readonly posted: Posted[] = [];
  private readonly early: Early[] = [];
  private earlyBytes = 0;
  private scratch = new Float32Array(0);
  private combined = 0;
  /**
   * The receive the frame now arriving was matched to, decided when its header arrived:
   * a receive posted while an early frame is half-way in must not take its remaining bytes.
   */
  private receiving: Posted | undefined;
  private failure: CollectiveError | undefined;

  constructor(
    public peer: number,
    private readonly flow: { pause(): void; resume(): void },
    private readonly maxEarlyBytes = 64 * 1024 * 1024
  ) {}

  post(tag: DataTag, into: Float32Array, combine: CombineOp | undefined): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.posted.push({ tag, into, combine, resolve, reject });
      this.drainEarly();
    });
  }

  /** Matches frames that arrived before their receive to receives posted since. */
  private drainEarly(): void {
    while (this.early.length > 0 && this.posted.length > 0 && this.receiving === undefined) {
      const early = this.early.shift() as Early;
      const posted = this.posted.shift() as Posted;
      this.earlyBytes -= early.payload.byteLength;
      if (this.earlyBytes <= this.maxEarlyBytes) this.flow.resume();
      try {
        this.check(posted, early.message);
        const values = new Float32Array(early.payload.buffer, early.payload.byteOffset, early.message.n);
        if (posted.combine) combineInto(posted.into, values, posted.combine);
        else posted.into.set(values);
        posted.resolve();
      } catch (err) {
        posted.reject(err as CollectiveError);
        this.fail(err as CollectiveError);
      }
    }
  }

  /** Rejects every posted receive; later posts reject at once. */
  fail(err: CollectiveError): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of this.posted.splice(0)) p.reject(err);
    this.early.length = 0;
  }

  payloadTarget(message: Message, payloadBytes: number): Uint8Array | undefined {
    const head = this.posted[0];
    this.receiving = head;
    if (message.t !== 'data' || head === undefined) return undefined; // early: the decoder allocates, and 4-byte aligned
    this.check(head, message);
    this.combined = 0;
    if (head.combine === undefined) return new Uint8Array(head.into.buffer, head.into.byteOffset, payloadBytes);
    if (this.scratch.length < message.n) this.scratch = new Float32Array(message.n);
    return new Uint8Array(this.scratch.buffer, 0, payloadBytes);
  }

  payloadProgress(message: Message, filled: number): void {
    const head = this.receiving;
    if (message.t !== 'data' || head === undefined || head.combine === undefined) return;
    const ready = filled >>> 2;
    if (ready === this.combined) return;
    combineInto(head.into.subarray(this.combined, ready), this.scratch.subarray(this.combined, ready), head.combine);
    this.combined = ready;
  }

  /** A whole data frame arrived (its payload already applied if a receive was posted). */
  frame(message: DataMessage, payload: Uint8Array): void {
    const head = message.n === 0 ? this.posted[0] : this.receiving;
    this.receiving = undefined;
    if (head === undefined) {
      // Copy only when the decoder's buffer is not aligned for a Float32Array view.
      const aligned = payload.byteOffset % 4 === 0 ? payload : payload.slice();
      this.early.push({ message, payload: aligned });
      this.earlyBytes += aligned.byteLength;
      if (this.earlyBytes > this.maxEarlyBytes) this.flow.pause();
      this.drainEarly();
      return;
    }
    // The matched receive is the head: receives are only ever taken from the front.
    this.posted.shift();
    if (message.n === 0) this.check(head, message);
    head.resolve();
  }

  private check(posted: Posted, message: DataMessage): void {
    const t = posted.tag;
    if (message.g !== t.group || message.s !== t.seq || message.i !== t.tag || message.off !== t.offset || message.n !== t.count || message.dt !== 'float32') {
      throw collectiveError(
        'COLL_ERR_DESYNC',
        `rank ${this.peer} sent ${message.g}#${message.s}.${message.i} [${message.off}, +${message.n}) ${message.dt} ` +
          `where ${t.group}#${t.seq}.${t.tag} [${t.offset}, +${t.count}) float32 was expected`,
        this.peer
      );
    }
    if (posted.into.length !== message.n) {
      throw collectiveError('COLL_ERR_ARGUMENT', `receive buffer holds ${posted.into.length}, transfer has ${message.n}`, this.peer);
    }
  }
}
