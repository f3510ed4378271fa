import type { Socket } from 'node:net';
import { FrameDecoder, encodeFrame, isProtocolError } from '@tfjs-ddp/protocol';
import type { FrameLimits, Message } from '@tfjs-ddp/protocol';
import { CollectiveError, collectiveError } from './errors.js';
import { Inbox } from './inbox.js';

/** Size of a connection's own read buffer (headers, and payload pieces with no target). */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * One TCP socket of a peer link, with its frame decoder. Control messages (handshake,
 * abort, bye) are queued for `nextControl` or passed to `onControl`; data frames go to
 * the connection's `Inbox`. A connection we dialed reads with node:net's `onread`: each
 * read lands where the decoder says — straight in the receiving buffer, or in the wasm
 * scratch a combine reads from — so no received byte is copied by JavaScript. Any bad
 * byte, a close without goodbye, or a socket error fails the connection once.
 */
export class Connection {
  readonly inbox: Inbox;
  readonly decoder: FrameDecoder;
  socket: Socket | undefined;
  /** Set once the handshake is done; data before that is a protocol error. */
  up = false;
  /** False for a connection we only send on: data arriving there is a protocol error. */
  receivesData = true;
  onControl: (message: Message) => void = (m) => this.queueControl(m);
  onFailure: (err: CollectiveError) => void = () => undefined;
  private failure: CollectiveError | undefined;
  private byeReceived = false;
  private closing = false;
  private readonly controlQueue: Message[] = [];
  private controlWaiter: ((m: Message | CollectiveError) => void) | undefined;
  private readonly readBuffer = Buffer.alloc(READ_BUFFER_BYTES);

  constructor(
    private peerRank: number,
    limits?: FrameLimits
  ) {
    this.inbox = new Inbox(peerRank, { pause: () => this.socket?.pause(), resume: () => this.socket?.resume() });
    this.decoder = new FrameDecoder(
      {
        payloadTarget: (m, bytes) => {
          if (!this.up || !this.receivesData) throw collectiveError('COLL_ERR_PROTOCOL', `rank ${this.peer} sent data where none is expected`, this.peer);
          return this.inbox.payloadTarget(m, bytes);
        },
        frame: (m, payload) => {
          // The peer may send right behind its `ready`, in the same read: the connection
          // must be up before the next frame is parsed, not when the handshake resumes.
          if (m.t === 'ready') this.up = true;
          if (m.t !== 'data') this.onControl(m);
          else if (!this.up || !this.receivesData) throw collectiveError('COLL_ERR_PROTOCOL', `rank ${this.peer} sent data where none is expected`, this.peer);
          else this.inbox.frame(m, payload);
        }
      },
      limits
    );
  }

  /** node:net `onread` options for a socket we dial: reads land where the decoder wants them. */
  onreadOptions(): { buffer: () => Uint8Array; callback: (n: number, buf: Uint8Array) => boolean } {
    return {
      buffer: () => this.decoder.readTarget() ?? this.readBuffer,
      callback: (n, buf) => {
        this.guard(() => (buf === this.readBuffer ? this.decoder.push(this.readBuffer.subarray(0, n)) : this.decoder.wrote(n)));
        return true;
      }
    };
  }

  /** Takes over a connected socket; `streamed` sockets (accepted ones) deliver 'data' events. */
  attach(socket: Socket, streamed: boolean): void {
    this.socket = socket;
    socket.setNoDelay(true);
    if (streamed) socket.on('data', (chunk: Buffer) => this.guard(() => this.decoder.push(chunk)));
    socket.on('end', () => this.guard(() => this.decoder.end()));
    socket.on('error', (err) => this.fail(collectiveError('COLL_ERR_PEER_LOST', `link to rank ${this.peer}: ${err.message}`, this.peer, err)));
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

  /** Sends a control message (handshake, abort, bye); errors surface through the failure. */
  sendControl(message: Message): void {
    const socket = this.socket;
    if (this.failure || !socket || socket.destroyed) return;
    socket.write(encodeFrame(message).head);
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

  /** Control messages that arrived before an owner replaced `onControl`. */
  takeQueuedControl(): Message | undefined {
    return this.controlQueue.shift();
  }

  markByeReceived(): void {
    this.byeReceived = true;
  }

  /** Orderly close of our side. */
  close(): void {
    this.closing = true;
    const socket = this.socket;
    if (!socket) return;
    socket.end();
    // A peer that never closes its side must not keep this process alive.
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  /** Drops the connection (failure paths). */
  destroy(err: CollectiveError): void {
    this.fail(err);
  }

  private guard(body: () => void): void {
    try {
      body();
    } catch (err) {
      const code = isProtocolError(err) ? 'COLL_ERR_PROTOCOL' : err instanceof CollectiveError ? err.code : 'COLL_ERR_PROTOCOL';
      this.fail(collectiveError(code, `link to rank ${this.peer}: ${(err as Error).message}`, this.peer, err));
    }
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
    const socket = this.socket;
    if (socket && !socket.destroyed) {
      // Let queued frames (an abort notice) leave, but never wait long for them.
      socket.end();
      setTimeout(() => socket.destroy(), 200).unref();
    }
    this.onFailure(err);
  }
}
