import { protocolError } from './errors.js';
import { FRAME_PREFIX_BYTES, decodeHeader } from './frame.js';
import { DEFAULT_FRAME_LIMITS } from './limits.js';
import type { FrameLimits } from './limits.js';
import type { Message } from './messages.js';

/**
 * Takes payload bytes straight from the socket's buffers, without the decoder copying
 * them anywhere (e.g. to add incoming values into a destination in one pass). The bytes
 * are only valid during the call.
 */
export interface PayloadConsumer {
  /** `bytes` are payload bytes [at, at + bytes.byteLength). */
  consume(bytes: Uint8Array, at: number): void;
  /**
   * Optional, for readers that can read into a given buffer (node:net `onread`): where
   * the next read of at most `maxBytes` should land; `consumeRead` then takes them.
   */
  readBuffer?(maxBytes: number): Uint8Array | undefined;
  /** `n` payload bytes [at, at + n) were read into the last `readBuffer`. */
  consumeRead?(n: number, at: number): void;
}

/**
 * Authenticates frames on a stream whose frames carry a tag after their payload (peer
 * links after their handshake). The decoder hands it every byte of a frame as it comes —
 * prefix, header, then payload pieces wherever they landed — and the `tagBytes` that
 * follow the payload; the frame is delivered (`FrameSink.frame`) only once `verify` has
 * passed, so a receive completes only on authenticated bytes. What the tag is computed
 * over and how is the authenticator's business, written once beside its sealer.
 */
export interface FrameAuthenticator {
  /** Length of the tag after each frame's payload. */
  readonly tagBytes: number;
  /** A frame's bytes, in order: prefix, header, payload pieces. */
  update(bytes: Uint8Array): void;
  /** Throws unless `tag` authenticates the bytes given since the last `verify`. */
  verify(tag: Uint8Array): void;
}

/** Where a streaming decoder delivers what it reads. */
export interface FrameSink {
  /**
   * A header was validated and `payloadBytes` (> 0) follow. Return a buffer of exactly
   * that length to receive them in place (the only copy is from the socket's buffer
   * into it), a consumer to take them as they come, or undefined to let the decoder
   * allocate a buffer.
   */
  payloadTarget(message: Message, payloadBytes: number): Uint8Array | PayloadConsumer | undefined;
  /** Payload bytes [0, filled) have landed in the target; lets a consumer work while the rest arrives. */
  payloadProgress?(message: Message, filled: number): void;
  /** A whole frame arrived. */
  frame(message: Message, payload: Uint8Array): void;
}

const enum Phase {
  Prefix,
  Header,
  Payload,
  /** The authentication tag after the payload (only with an authenticator). */
  Tag
}

/**
 * Splits a byte stream into validated frames. `push` throws a `ProtocolError` on the
 * first bad byte; the stream must then be closed (the decoder is left unusable).
 */
export class FrameDecoder {
  private phase = Phase.Prefix;
  private readonly prefix = Buffer.alloc(FRAME_PREFIX_BYTES);
  private header: Buffer = Buffer.alloc(0);
  private filled = 0;
  private payloadBytes = 0;
  private message: Message | undefined;
  private target: Uint8Array = new Uint8Array(0);
  private consumer: PayloadConsumer | undefined;
  private inPlace: Uint8Array | undefined;
  private failed = false;
  private authenticator: FrameAuthenticator | undefined;
  private tag: Buffer = Buffer.alloc(0);

  constructor(
    private readonly sink: FrameSink,
    private limits: FrameLimits = DEFAULT_FRAME_LIMITS
  ) {}

  /**
   * Limits for the frames that follow (e.g. tiny until a peer has proven itself, so a
   * stranger cannot make us allocate for a payload it declares). Call between frames —
   * from `FrameSink.frame` is fine: the next frame's prefix has not been read yet.
   */
  setLimits(limits: FrameLimits): void {
    this.limits = limits;
  }

  /** From the next frame on, every frame carries a tag that `authenticator` must accept. Same timing as `setLimits`. */
  authenticate(authenticator: FrameAuthenticator): void {
    this.authenticator = authenticator;
    this.tag = Buffer.alloc(authenticator.tagBytes);
  }

  /** True between frames: a stream that ends now ended cleanly. */
  get atBoundary(): boolean {
    return this.phase === Phase.Prefix && this.filled === 0;
  }

  /**
   * For readers that choose where the next read lands (node:net `onread`): the place the
   * next payload bytes should be read into — straight into the receiver's target, or the
   * consumer's read buffer — or undefined when the reader should use its own buffer and
   * `push` it. After a read into it, call `wrote(n)`.
   */
  readTarget(): Uint8Array | undefined {
    if (this.failed || this.phase !== Phase.Payload) return undefined;
    const left = this.payloadBytes - this.filled;
    this.inPlace = this.consumer ? this.consumer.readBuffer?.(left) : this.target.subarray(this.filled, this.payloadBytes);
    return this.inPlace;
  }

  /** `n` bytes were read into the buffer `readTarget` returned. */
  wrote(n: number): void {
    const region = this.inPlace;
    this.inPlace = undefined;
    if (this.failed || region === undefined || this.phase !== Phase.Payload || n > this.payloadBytes - this.filled) {
      this.failed = true;
      throw protocolError('PROTOCOL_ERR_DECODE', 'bytes reported outside the read target');
    }
    try {
      this.authenticator?.update(region.subarray(0, n));
      if (this.consumer) this.consumer.consumeRead?.(n, this.filled);
      this.filled += n;
      const message = this.message as Message;
      this.sink.payloadProgress?.(message, this.filled);
      if (this.filled === this.payloadBytes) this.endPayload(message);
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  /** The stream ended: throws PROTOCOL_ERR_TRUNCATED if it ended inside a frame. */
  end(): void {
    if (!this.atBoundary) throw protocolError('PROTOCOL_ERR_TRUNCATED', 'the stream ended inside a frame');
  }

  push(chunk: Uint8Array): void {
    if (this.failed) throw protocolError('PROTOCOL_ERR_DECODE', 'decoder already failed');
    try {
      let at = 0;
      while (at < chunk.byteLength) at = this.step(chunk, at);
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  /** Consumes bytes of `chunk` from `at` for the current phase; returns the new position. */
  private step(chunk: Uint8Array, at: number): number {
    switch (this.phase) {
      case Phase.Prefix: {
        const take = Math.min(FRAME_PREFIX_BYTES - this.filled, chunk.byteLength - at);
        this.prefix.set(chunk.subarray(at, at + take), this.filled);
        this.filled += take;
        if (this.filled === FRAME_PREFIX_BYTES) this.startHeader();
        return at + take;
      }
      case Phase.Header: {
        const take = Math.min(this.header.byteLength - this.filled, chunk.byteLength - at);
        this.header.set(chunk.subarray(at, at + take), this.filled);
        this.filled += take;
        if (this.filled === this.header.byteLength) this.startPayload();
        return at + take;
      }
      case Phase.Payload: {
        const take = Math.min(this.payloadBytes - this.filled, chunk.byteLength - at);
        this.authenticator?.update(chunk.subarray(at, at + take));
        if (this.consumer) this.consumer.consume(chunk.subarray(at, at + take), this.filled);
        else this.target.set(chunk.subarray(at, at + take), this.filled);
        this.filled += take;
        const message = this.message as Message;
        this.sink.payloadProgress?.(message, this.filled);
        if (this.filled === this.payloadBytes) this.endPayload(message);
        return at + take;
      }
      case Phase.Tag: {
        const take = Math.min(this.tag.byteLength - this.filled, chunk.byteLength - at);
        this.tag.set(chunk.subarray(at, at + take), this.filled);
        this.filled += take;
        if (this.filled === this.tag.byteLength) {
          (this.authenticator as FrameAuthenticator).verify(this.tag);
          this.finish(this.message as Message);
        }
        return at + take;
      }
    }
  }

  /** The payload is complete: the frame is delivered now, or after its tag is read and verified. */
  private endPayload(message: Message): void {
    if (this.authenticator === undefined) {
      this.finish(message);
      return;
    }
    this.message = message;
    this.phase = Phase.Tag;
    this.filled = 0;
  }

  private startHeader(): void {
    const headerBytes = this.prefix.readUInt32LE(0);
    const payloadBytes = this.prefix.readUInt32LE(4);
    if (headerBytes === 0) throw protocolError('PROTOCOL_ERR_DECODE', 'frame with an empty header');
    if (headerBytes > this.limits.maxHeaderBytes) {
      throw protocolError('PROTOCOL_ERR_TOO_LARGE', `header of ${headerBytes} bytes exceeds ${this.limits.maxHeaderBytes}`);
    }
    if (payloadBytes > this.limits.maxPayloadBytes) {
      throw protocolError('PROTOCOL_ERR_TOO_LARGE', `payload of ${payloadBytes} bytes exceeds ${this.limits.maxPayloadBytes}`);
    }
    this.payloadBytes = payloadBytes;
    this.header = Buffer.allocUnsafe(headerBytes);
    this.filled = 0;
    this.phase = Phase.Header;
  }

  private startPayload(): void {
    if (this.authenticator) {
      this.authenticator.update(this.prefix);
      this.authenticator.update(this.header);
    }
    const message = decodeHeader(this.header, this.payloadBytes);
    this.filled = 0;
    if (this.payloadBytes === 0) {
      this.endPayload(message);
      return;
    }
    const chosen = this.sink.payloadTarget(message, this.payloadBytes) ?? new Uint8Array(this.payloadBytes);
    this.message = message;
    this.phase = Phase.Payload;
    if (!(chosen instanceof Uint8Array)) {
      this.consumer = chosen;
      return;
    }
    const target = chosen;
    if (target.byteLength !== this.payloadBytes) {
      throw protocolError('PROTOCOL_ERR_LENGTH', `receiver expected ${target.byteLength} payload bytes, frame has ${this.payloadBytes}`);
    }
    this.target = target;
  }

  private finish(message: Message): void {
    const payload = this.target;
    this.phase = Phase.Prefix;
    this.filled = 0;
    this.message = undefined;
    this.target = new Uint8Array(0);
    const consumed = this.consumer !== undefined;
    this.consumer = undefined;
    this.sink.frame(message, this.payloadBytes === 0 || consumed ? new Uint8Array(0) : payload);
  }
}
