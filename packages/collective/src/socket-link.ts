import type { Socket } from 'node:net';
import { FrameDecoder, encodeFrame, isProtocolError } from '@tfjs-ddp/protocol';
import type { FrameLimits, Message } from '@tfjs-ddp/protocol';
import { CollectiveError, collectiveError } from './errors.js';
import { Inbox } from './inbox.js';
import type { DataTag, Link } from './link.js';
import type { CombineOp } from './reduce-op.js';

/**
 * A `Link` over one TCP socket (node:net; a TLS socket has the same API). Frames are a
 * msgpack header plus raw bytes; data frames go to the `Inbox`, every other message to
 * `onControl` (handshake, abort, bye). Any bad byte, a close without goodbye, or a
 * socket error fails the link: every pending and later call rejects with the code and
 * this peer's rank, and `onFailure` tells the owner.
 */
export class SocketLink implements Link {
  private readonly inbox: Inbox;
  private readonly decoder: FrameDecoder;
  private failure: CollectiveError | undefined;
  private byeReceived = false;
  private closing = false;
  private readonly controlQueue: Message[] = [];
  private controlWaiter: ((m: Message | CollectiveError) => void) | undefined;
  /** Set by the owner once the handshake is done; before that only control messages are accepted. */
  up = false;
  onControl: (message: Message) => void = (m) => this.queueControl(m);
  onFailure: (err: CollectiveError) => void = () => undefined;

  constructor(
    private peerRank: number,
    readonly socket: Socket,
    limits?: FrameLimits
  ) {
    socket.setNoDelay(true);
    this.inbox = new Inbox(peerRank, { pause: () => socket.pause(), resume: () => socket.resume() });
    this.decoder = new FrameDecoder(
      {
        payloadTarget: (m, bytes) => this.inbox.payloadTarget(m, bytes),
        frame: (m, payload) => {
          // The peer may send data right behind its `ready`, in the same chunk: the link
          // must be up before the next frame is parsed, not when the handshake resumes.
          if (m.t === 'ready') this.up = true;
          if (m.t !== 'data') this.onControl(m);
          else if (!this.up) throw collectiveError('COLL_ERR_PROTOCOL', `rank ${this.peer} sent data before the handshake`, this.peer);
          else this.inbox.frame(m, payload);
        }
      },
      limits
    );
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk);
      } catch (err) {
        const code = isProtocolError(err) ? 'COLL_ERR_PROTOCOL' : err instanceof CollectiveError ? err.code : 'COLL_ERR_PROTOCOL';
        this.fail(collectiveError(code, `link to rank ${this.peer}: ${(err as Error).message}`, this.peer, err));
      }
    });
    socket.on('error', (err) => this.fail(collectiveError('COLL_ERR_PEER_LOST', `link to rank ${this.peer}: ${err.message}`, this.peer, err)));
    socket.on('end', () => {
      try {
        this.decoder.end();
      } catch (err) {
        this.fail(collectiveError('COLL_ERR_PROTOCOL', `link to rank ${this.peer}: ${(err as Error).message}`, this.peer, err));
      }
    });
    socket.on('close', () => {
      if (this.closing) this.fail(collectiveError('COLL_ERR_CLOSED', `link to rank ${this.peer} was closed here`, this.peer));
      else if (this.byeReceived) this.fail(collectiveError('COLL_ERR_PEER_CLOSED', `rank ${this.peer} closed the group`, this.peer));
      else this.fail(collectiveError('COLL_ERR_PEER_LOST', `connection to rank ${this.peer} was lost`, this.peer));
    });
  }

  get peer(): number {
    return this.peerRank;
  }

  /** The acceptor learns who dialed from the hello. */
  assignPeer(rank: number): void {
    this.peerRank = rank;
    this.inbox.peer = rank;
  }

  get failed(): CollectiveError | undefined {
    return this.failure;
  }

  send(tag: DataTag, data: Float32Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const { head, payload } = encodeFrame(
      { v: 1, t: 'data', g: tag.group, s: tag.seq, i: tag.tag, off: tag.offset, n: tag.count, dt: 'float32' },
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    );
    return new Promise<void>((resolve, reject) => {
      // cork/uncork makes head and payload one writev; the payload is not copied, so the
      // promise resolves only when the socket is done with its bytes.
      this.socket.cork();
      this.socket.write(head);
      const done = (err?: Error | null): void => {
        if (err) reject(this.failure ?? collectiveError('COLL_ERR_PEER_LOST', `send to rank ${this.peer}: ${err.message}`, this.peer, err));
        else resolve();
      };
      if (payload.byteLength > 0) this.socket.write(payload, done);
      else this.socket.write(new Uint8Array(0), done);
      this.socket.uncork();
    });
  }

  recv(tag: DataTag, into: Float32Array, combine: CombineOp | undefined): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.inbox.post(tag, into, combine);
  }

  /** Sends a control message (handshake, abort, bye); errors surface through the link's failure. */
  sendControl(message: Message): void {
    if (this.failure || this.socket.destroyed) return;
    const { head } = encodeFrame(message);
    this.socket.write(head);
  }

  /** The next control message, for the handshake; rejects on failure or after `timeoutMs`. */
  nextControl(timeoutMs: number): Promise<Message> {
    const queued = this.controlQueue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.controlWaiter = undefined;
        reject(collectiveError('COLL_ERR_CONNECT', `rank ${this.peer} did not answer the handshake in ${timeoutMs} ms`, this.peer));
      }, timeoutMs);
      this.controlWaiter = (m) => {
        clearTimeout(timer);
        this.controlWaiter = undefined;
        if (m instanceof CollectiveError) reject(m);
        else resolve(m);
      };
    });
  }

  /** Orderly close: the peer learns it was on purpose (`bye`). */
  close(): void {
    if (!this.failure && !this.socket.destroyed) this.sendControl({ v: 1, t: 'bye' });
    this.closing = true;
    this.socket.end();
    // A peer that never closes its side must not keep this process alive.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** Drops the connection now (failure paths). */
  destroy(err: CollectiveError): void {
    this.fail(err);
  }

  markByeReceived(): void {
    this.byeReceived = true;
  }

  /** Control messages that arrived before an owner took over (`onControl` replaced). */
  takeQueuedControl(): Message | undefined {
    return this.controlQueue.shift();
  }

  private queueControl(message: Message): void {
    if (this.controlWaiter) this.controlWaiter(message);
    else this.controlQueue.push(message);
  }

  private fail(err: CollectiveError): void {
    if (this.failure) return;
    this.failure = err;
    this.inbox.fail(err);
    this.controlWaiter?.(err);
    if (!this.socket.destroyed) {
      // Let queued frames (an abort notice) leave, but never wait long for them.
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 200).unref();
    }
    this.onFailure(err);
  }
}
