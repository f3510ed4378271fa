import { PROTOCOL_VERSION, type DataMessage } from '@tfjs-ddp/protocol';
import { collectiveError } from '../errors.js';
import type { CollectiveError } from '../errors.js';
import { Inbox } from './inbox.js';
import type { DataTag, Link } from './link.js';
import type { CombineOp } from '../reduce/reduce-op.js';
import { encodePayload } from './wire-codec.js';

/**
 * In-memory links for unit tests: every send is copied (as a socket would) and delivered
 * to the peer's `Inbox` on a later macrotask, optionally after a random delay, so the
 * schedule runner meets the same early/late arrival orders as over sockets.
 */
export class FakeLink implements Link {
  readonly inbox: Inbox;
  remote: FakeLink | undefined;
  private failure: CollectiveError | undefined;
  private deliveries: Promise<void> = Promise.resolve();

  constructor(
    readonly self: number,
    readonly peer: number,
    private readonly maxDelayMs = 0
  ) {
    this.inbox = new Inbox(peer, { pause: () => undefined, resume: () => undefined });
  }

  send(tag: DataTag, data: Float32Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const remote = this.remote;
    if (remote === undefined) return Promise.reject(collectiveError('COLL_ERR_PEER_LOST', 'fake link not connected', this.peer));
    const dt = tag.dt ?? 'float32';
    const message: DataMessage = { v: PROTOCOL_VERSION, t: 'data', g: tag.group, s: tag.seq, i: tag.tag, off: tag.offset, n: tag.count, dt };
    const payload = encodePayload(dt, data).slice();
    // Deliveries are chained so they stay in send order (a link is a FIFO) even with
    // random delays.
    const delay = Math.floor(Math.random() * this.maxDelayMs);
    this.deliveries = this.deliveries
      .then(() => new Promise<void>((resolve) => setTimeout(resolve, delay)))
      .then(() => remote.deliver(message, payload));
    return new Promise((resolve) => setImmediate(resolve));
  }

  recv(tag: DataTag, into: Float32Array, combine: CombineOp | undefined): Promise<void> {
    return this.inbox.post(tag, into, combine);
  }

  /** Simulates the connection dying. */
  fail(err: CollectiveError): void {
    this.failure = err;
    this.inbox.fail(err);
  }

  private deliver(message: DataMessage, payload: Uint8Array): void {
    if (this.failure) return;
    try {
      const target = message.n > 0 ? this.inbox.payloadTarget(message, payload.byteLength) : undefined;
      if (target instanceof Uint8Array) target.set(payload);
      // Fed in uneven pieces, as a socket would, to exercise floats split across reads.
      else if (target) for (let at = 0; at < payload.byteLength; at += 4099) target.consume(payload.subarray(at, at + 4099), at);
      this.inbox.frame(message, target === undefined ? payload : new Uint8Array(0));
    } catch (err) {
      this.fail(err as CollectiveError);
    }
  }
}

/** A full mesh of fake links among `size` ranks: `links[r][q]` is r's link to q. */
export function fakeMesh(size: number, maxDelayMs = 0): FakeLink[][] {
  const links = Array.from({ length: size }, (_, r) => Array.from({ length: size }, (_, q) => new FakeLink(r, q, maxDelayMs)));
  for (let r = 0; r < size; r++) {
    for (let q = 0; q < size; q++) {
      const a = links[r]?.[q];
      if (a) a.remote = links[q]?.[r];
    }
  }
  return links;
}
