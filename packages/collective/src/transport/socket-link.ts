import type { Socket } from 'node:net';
import { encodeFrame, PROTOCOL_VERSION, type Message } from '@tfjs-ddp/protocol';
import type { PeerConnection } from './peer-connection.js';
import { collectiveError } from '../errors.js';
import type { CollectiveError } from '../errors.js';
import type { DataTag, Link } from './link.js';
import type { CombineOp } from '../reduce/reduce-op.js';
import { encodePayload } from './wire-codec.js';

/**
 * A `Link` to one peer over two TCP connections, one per direction: each side receives
 * on the connection it dialed, because only a dialed node:net socket can read in place
 * (`onread`), and sends on the one it accepted. Frames are a msgpack header plus raw
 * bytes. A failure of either connection fails the link: every pending and later call
 * rejects with the code and this peer's rank, and `onFailure` tells the owner.
 */
export class SocketLink implements Link {
  onControl: (message: Message) => void = () => undefined;
  onFailure: (err: CollectiveError) => void = () => undefined;
  private failure: CollectiveError | undefined;
  /** Tensor payload bytes sent and received (see `LinkTraffic`). */
  payloadSentBytes = 0;
  payloadReceivedBytes = 0;

  constructor(
    readonly peer: number,
    /** The connection we dialed: the peer's data and control messages arrive here. */
    private readonly rx: PeerConnection,
    /** The connection the peer dialed: we send on it. */
    private readonly tx: PeerConnection
  ) {
    tx.receivesData = false;
    rx.onControl = (m) => this.onControl(m);
    tx.onControl = (m) => this.fail(collectiveError('COLL_ERR_PROTOCOL', `rank ${peer} sent ${m.t} on its receive connection`, peer));
    rx.onFailure = (err) => this.fail(err);
    tx.onFailure = (err) => this.fail(err);
  }

  /** Hands control messages queued during the handshake to `onControl`, and reports an early failure. */
  start(): void {
    for (;;) {
      const queued = this.rx.takeQueuedControl();
      if (queued === undefined) break;
      this.onControl(queued);
    }
    const failed = this.rx.failed ?? this.tx.failed;
    if (failed) this.fail(failed);
  }

  get failed(): CollectiveError | undefined {
    return this.failure;
  }

  get sockets(): Socket[] {
    return [this.rx.socket, this.tx.socket].filter((s): s is Socket => s !== undefined);
  }

  send(tag: DataTag, data: Float32Array): Promise<void> {
    const socket = this.tx.socket;
    if (this.failure || !socket) return Promise.reject(this.failure ?? collectiveError('COLL_ERR_PEER_LOST', 'no connection', this.peer));
    const dt = tag.dt ?? 'float32';
    const { head, payload } = encodeFrame(
      { v: PROTOCOL_VERSION, t: 'data', g: tag.group, s: tag.seq, i: tag.tag, off: tag.offset, n: tag.count, dt },
      encodePayload(dt, data)
    );
    this.payloadSentBytes += data.byteLength;
    return new Promise<void>((resolve, reject) => {
      // A float32 payload is not copied, so the promise resolves only when the socket is done with its bytes.
      this.tx.writeFrame(head, payload, (err) => {
        if (err) reject(this.failure ?? collectiveError('COLL_ERR_PEER_LOST', `send to rank ${this.peer}: ${err.message}`, this.peer, err));
        else resolve();
      });
    });
  }

  recv(tag: DataTag, into: Float32Array, combine: CombineOp | undefined): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.rx.inbox.post(tag, into, combine).then(() => {
      this.payloadReceivedBytes += into.byteLength;
    });
  }

  /** Bytes both connections carried: the process group sums them over its links. */
  get wireBytes(): { sent: number; received: number } {
    return { sent: this.rx.sentBytes + this.tx.sentBytes, received: this.rx.receivedBytes + this.tx.receivedBytes };
  }

  sendControl(message: Message): void {
    this.tx.sendControl(message);
  }

  markByeReceived(): void {
    this.rx.markByeReceived();
    this.tx.markByeReceived();
  }

  /** Orderly close: the peer learns it was on purpose (`bye`). */
  close(): void {
    if (!this.failure) this.tx.sendControl({ v: PROTOCOL_VERSION, t: 'bye' });
    this.tx.close();
    this.rx.close();
  }

  /** Drops both connections (failure paths). */
  destroy(err: CollectiveError): void {
    this.fail(err);
  }

  private fail(err: CollectiveError): void {
    if (this.failure) return;
    this.failure = err;
    this.rx.destroy(err);
    this.tx.destroy(err);
    this.onFailure(err);
  }
}
