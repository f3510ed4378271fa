import type { DataMessage, FrameSink, Message, PayloadConsumer } from '@tfjs-ddp/protocol';
import { collectiveError } from '../errors.js';
import type { CollectiveError } from '../errors.js';
import type { DataTag } from './link.js';
import { combineInto } from '../reduce/reduce-op.js';
import type { CombineOp } from '../reduce/reduce-op.js';
import { engineOf } from '../reduce/reduce-engine.js';
import type { ReduceEngine } from '../reduce/reduce-engine.js';
import { decodeHalves } from '../reduce/half-float.js';
import type { HalfFormat } from '../reduce/half-float.js';
import { decodePayload } from './wire-codec.js';

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
export class Inbox implements Pick<FrameSink, 'payloadTarget'> {
  private readonly posted: Posted[] = [];
  private readonly early: Early[] = [];
  private earlyBytes = 0;
  /** For destinations outside any wasm memory (plain JavaScript combine). */
  private readonly jsScratch = new Float32Array(16 * 1024);
  /** Bytes of a float split between two socket reads. */
  private readonly carry = new Uint8Array(4);
  private carried = 0;
  /** Where the outstanding in-place read lands: the scratch of the destination's engine. */
  private readStart = 0;
  private scratchHeld: ReduceEngine | undefined;
  private readonly consumer: PayloadConsumer = {
    consume: (bytes, at) => this.combineFrom(bytes, at),
    readBuffer: (maxBytes) => this.readBuffer(maxBytes),
    consumeRead: (n, at) => this.combineRead(n, at)
  };
  /** Compressed frames: halves are decoded to float32 as they arrive, then set or combined in float32. */
  private readonly halfConsumer: PayloadConsumer = { consume: (bytes, at) => this.decodeFrom(bytes, at) };
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
        const values = decodePayload(posted.tag.dt ?? 'float32', early.payload, early.message.n);
        if (posted.combine) combineInto(posted.into, values, posted.combine);
        else posted.into.set(values);
        posted.resolve();
      } catch (err) {
        posted.reject(err as CollectiveError);
        this.fail(err as CollectiveError);
      }
    }
  }

  /**
   * In-place reads for a combine (node:net `onread`): the next read lands in the engine's
   * scratch right after any carried partial float, so the kernel combines it where the
   * socket put it — no copy by JavaScript at all. Undefined (read elsewhere, then
   * `consume`) when the destination has no engine or another link holds the scratch.
   */
  private readBuffer(maxBytes: number): Uint8Array | undefined {
    const head = this.receiving as Posted;
    const engine = engineOf(head.into);
    if (!engine || (engine.scratchOwner !== undefined && engine.scratchOwner !== this)) return undefined;
    const bytes = new Uint8Array(engine.scratch.buffer, engine.scratch.byteOffset, engine.scratch.byteLength);
    if (bytes.byteLength < 64) return undefined;
    engine.scratchOwner = this;
    this.scratchHeld = engine;
    bytes.set(this.carry.subarray(0, this.carried));
    this.readStart = this.carried;
    return bytes.subarray(this.carried, this.carried + Math.min(maxBytes, bytes.byteLength - this.carried));
  }

  private combineRead(n: number, at: number): void {
    const head = this.receiving as Posted;
    const engine = engineOf(head.into);
    if (!engine || engine.scratchOwner !== this) throw collectiveError('COLL_ERR_PROTOCOL', 'in-place read without its scratch', this.peer);
    engine.scratchOwner = undefined;
    this.scratchHeld = undefined;
    const total = this.readStart + n;
    const floats = total >>> 2;
    const first = (at - this.readStart) >>> 2;
    combineInto(head.into.subarray(first, first + floats), engine.scratch.subarray(0, floats), head.combine as CombineOp);
    this.carried = total - floats * 4;
    if (this.carried > 0) this.carry.set(new Uint8Array(engine.scratch.buffer, engine.scratch.byteOffset + floats * 4, this.carried));
  }

  /** Rejects every posted receive; later posts reject at once. */
  fail(err: CollectiveError): void {
    if (this.failure) return;
    this.failure = err;
    // A read that will never complete must not keep the scratch from other links.
    if (this.scratchHeld?.scratchOwner === this) this.scratchHeld.scratchOwner = undefined;
    for (const p of this.posted.splice(0)) p.reject(err);
    this.early.length = 0;
  }

  payloadTarget(message: Message, payloadBytes: number): Uint8Array | PayloadConsumer | undefined {
    const head = this.posted[0];
    this.receiving = head;
    if (message.t !== 'data' || head === undefined) return undefined; // early: the decoder allocates, and 4-byte aligned
    this.check(head, message);
    this.carried = 0;
    if (message.dt !== 'float32') return this.halfConsumer;
    if (head.combine === undefined) return new Uint8Array(head.into.buffer, head.into.byteOffset, payloadBytes);
    return this.consumer;
  }

  /** Payload bytes [at, at + bytes.byteLength) of a compressed frame; a half split between reads waits in `carry`. */
  private decodeFrom(bytes: Uint8Array, at: number): void {
    const head = this.receiving as Posted;
    const dt = head.tag.dt as HalfFormat;
    let pos = 0;
    if (this.carried === 1 && bytes.byteLength > 0) {
      this.carry[1] = bytes[0] as number;
      this.carried = 0;
      pos = 1;
      this.applyHalves(head, dt, this.carry.subarray(0, 2), (at - 1) >>> 1);
    }
    while (bytes.byteLength - pos >= 2) {
      const halves = Math.min(this.jsScratch.length, (bytes.byteLength - pos) >>> 1);
      this.applyHalves(head, dt, bytes.subarray(pos, pos + halves * 2), (at + pos) >>> 1);
      pos += halves * 2;
    }
    if (pos < bytes.byteLength) {
      this.carry[0] = bytes[pos] as number;
      this.carried = 1;
    }
  }

  private applyHalves(head: Posted, dt: HalfFormat, bytes: Uint8Array, first: number): void {
    const n = bytes.byteLength >>> 1;
    const values = this.jsScratch.subarray(0, n);
    decodeHalves(dt, bytes, values);
    if (head.combine) combineInto(head.into.subarray(first, first + n), values, head.combine);
    else head.into.set(values, first);
  }

  /**
   * Combines payload bytes into the destination as each socket read arrives: whole
   * floats go through a scratch buffer in the destination's wasm memory (so the SIMD
   * kernel can take them; a read's bytes are rarely 4-byte aligned anyway), and a float
   * split between two reads waits in `carry`.
   */
  private combineFrom(bytes: Uint8Array, at: number): void {
    const head = this.receiving as Posted;
    const op = head.combine as CombineOp;
    const engine = engineOf(head.into);
    const scratch = engine && (engine.scratchOwner === undefined || engine.scratchOwner === this) ? engine.scratch : this.jsScratch;
    const scratchBytes = new Uint8Array(scratch.buffer, scratch.byteOffset, scratch.byteLength);
    let pos = 0;
    if (this.carried > 0) {
      pos = Math.min(4 - this.carried, bytes.byteLength);
      this.carry.set(bytes.subarray(0, pos), this.carried);
      this.carried += pos;
      if (this.carried < 4) return;
      this.carried = 0;
      scratchBytes.set(this.carry);
      const e = (at + pos - 4) >>> 2;
      combineInto(head.into.subarray(e, e + 1), scratch.subarray(0, 1), op);
    }
    let e = (at + pos) >>> 2;
    while (bytes.byteLength - pos >= 4) {
      const floats = Math.min(scratch.length, (bytes.byteLength - pos) >>> 2);
      scratchBytes.set(bytes.subarray(pos, pos + floats * 4));
      combineInto(head.into.subarray(e, e + floats), scratch.subarray(0, floats), op);
      pos += floats * 4;
      e += floats;
    }
    if (pos < bytes.byteLength) {
      this.carry.set(bytes.subarray(pos));
      this.carried = bytes.byteLength - pos;
    }
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
    const dt = t.dt ?? 'float32';
    if (message.g !== t.group || message.s !== t.seq || message.i !== t.tag || message.off !== t.offset || message.n !== t.count || message.dt !== dt) {
      throw collectiveError(
        'COLL_ERR_DESYNC',
        `rank ${this.peer} sent ${message.g}#${message.s}.${message.i} [${message.off}, +${message.n}) ${message.dt} ` +
          `where ${t.group}#${t.seq}.${t.tag} [${t.offset}, +${t.count}) ${dt} was expected`,
        this.peer
      );
    }
    if (posted.into.length !== message.n) {
      throw collectiveError('COLL_ERR_ARGUMENT', `receive buffer holds ${posted.into.length}, transfer has ${message.n}`, this.peer);
    }
  }
}
