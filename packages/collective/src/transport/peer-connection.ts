import type { Socket } from 'node:net';
import { DEFAULT_FRAME_LIMITS, FrameDecoder, PROTOCOL_VERSION, encodeFrame, isProtocolError } from '@tfjs-ddp/protocol';
import type { FrameLimits, Message } from '@tfjs-ddp/protocol';
import { CollectiveError, collectiveError } from '../errors.js';
import { FrameSealer, FrameVerifier } from './frame-mac.js';
import type { LinkKeys } from './frame-mac.js';
import { Inbox } from './inbox.js';

/** Size of a connection's own read buffer (headers, and payload pieces with no target). */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * From this payload size on, a frame's head and payload are handed to the socket before
 * its tag is computed, so the kernel sends while the MAC runs; smaller frames leave in
 * one writev with their tag.
 */
const OVERLAP_BYTES = 64 * 1024;

const EMPTY = new Uint8Array(0);

/**
 * One TCP socket of a peer link, with its frame decoder. Control messages (handshake,
 * abort, bye) are queued for `nextControl` or passed to `onControl`; data frames go to
 * the connection's `Inbox`. A connection we dialed reads with node:net's `onread`: each
 * read lands where the decoder says — straight in the receiving buffer, or in the wasm
 * scratch a combine reads from — so no received byte is copied by JavaScript. Any bad
 * byte, a close without goodbye, or a socket error fails the connection once.
 */
export class PeerConnection {
  readonly inbox: Inbox;
  readonly decoder: FrameDecoder;
  socket: Socket | undefined;
  /**
   * Set once both proofs are checked; from then on every frame carries a tag. Before it
   * only the handshake's own frames pass (one hello, one auth, an abort, and on the
   * dialer's side a `ready` once the acceptor's proof is checked), with no payload.
   */
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
  private readonly handshakeSeen = new Set<Message['t']>();
  /** Dialer side: the acceptor's proof is checked; its `ready` switches to these. */
  private armed: FrameVerifier | undefined;
  private sealer: FrameSealer | undefined;
  private readonly limits: FrameLimits;
  /** Bytes handed to the socket and read from it (see `LinkTraffic`). */
  sentBytes = 0;
  receivedBytes = 0;

  constructor(
    private peerRank: number,
    limits: FrameLimits = DEFAULT_FRAME_LIMITS
  ) {
    this.limits = limits;
    this.inbox = new Inbox(peerRank, { pause: () => this.socket?.pause(), resume: () => this.socket?.resume() });
    this.decoder = new FrameDecoder(
      {
        payloadTarget: (m, bytes) => {
          if (!this.up || !this.receivesData) throw collectiveError('COLL_ERR_PROTOCOL', `rank ${this.peer} sent data where none is expected`, this.peer);
          return this.inbox.payloadTarget(m, bytes);
        },
        frame: (m, payload) => {
          if (!this.up) this.handshakeFrame(m);
          else if (m.t !== 'data') this.onControl(m);
          else if (!this.receivesData) throw collectiveError('COLL_ERR_PROTOCOL', `rank ${this.peer} sent data where none is expected`, this.peer);
          else this.inbox.frame(m, payload);
        }
      },
      // Until the peer is proven nothing it declares is allocated: handshake frames have no payload.
      { maxHeaderBytes: limits.maxHeaderBytes, maxPayloadBytes: 0 }
    );
  }

  /** A frame before the link is up: only the handshake's, each once, in a sane order. */
  private handshakeFrame(m: Message): void {
    if (m.t === 'ready') {
      // Runs inside the decoder, before the next frame is parsed: the peer may send right
      // behind its `ready`, in the same read, and that frame already carries a tag.
      if (this.armed === undefined) throw collectiveError('COLL_ERR_PROTOCOL', `rank ${this.peer} sent ready before the proofs were checked`, this.peer);
      this.goUp(this.armed);
    } else if (m.t === 'hello' || m.t === 'auth') {
      if (this.handshakeSeen.has(m.t) || (m.t === 'auth' && !this.handshakeSeen.has('hello'))) {
        throw collectiveError('COLL_ERR_PROTOCOL', `rank ${this.peer} sent ${m.t} out of the handshake's order`, this.peer);
      }
      this.handshakeSeen.add(m.t);
    } else if (m.t !== 'abort') {
      throw collectiveError('COLL_ERR_PROTOCOL', `rank ${this.peer} sent ${m.t} before the handshake finished`, this.peer);
    }
    this.onControl(m);
  }

  private goUp(verifier: FrameVerifier): void {
    this.decoder.authenticate(verifier);
    this.decoder.setLimits(this.limits);
    this.up = true;
  }

  /**
   * Dialer side, once the acceptor's proof is checked and ours is sent: frames we send
   * from now on carry a tag, and the acceptor's `ready` (the last frame it sends in
   * clear) switches the receive side to tags too.
   */
  armReady(keys: LinkKeys): void {
    this.sealer = new FrameSealer(keys.dialerToAcceptor);
    this.armed = new FrameVerifier(keys.acceptorToDialer, this.peer);
  }

  /**
   * Acceptor side, once the dialer's proof is checked: the link is up, `ready` leaves in
   * clear, every later frame both ways carries a tag. Up before `ready` leaves: the
   * dialer may send as soon as it reads it.
   */
  admit(keys: LinkKeys): void {
    this.goUp(new FrameVerifier(keys.dialerToAcceptor, this.peer));
    this.sendControl({ v: PROTOCOL_VERSION, t: 'ready' });
    this.sealer = new FrameSealer(keys.acceptorToDialer);
  }

  /**
   * Writes one frame — head, payload, and its tag once the link is up: the frame layout
   * is written here only. The payload is not copied: `done` is called when the socket is
   * finished with it.
   */
  writeFrame(head: Uint8Array, payload: Uint8Array, done: (err?: Error | null) => void): void {
    const socket = this.socket;
    if (this.failure || !socket || socket.destroyed) {
      done(this.failure ?? collectiveError('COLL_ERR_PEER_LOST', 'not connected', this.peerRank));
      return;
    }
    const sealer = this.sealer;
    if (sealer && payload.byteLength >= OVERLAP_BYTES) {
      // Head and payload go to the kernel first; the tag is computed while they leave.
      socket.write(head);
      socket.write(payload);
      this.writeTag(socket, head, payload, sealer, done);
      return;
    }
    // cork/uncork makes the parts one writev.
    socket.cork();
    socket.write(head);
    if (payload.byteLength > 0) socket.write(payload);
    this.writeTag(socket, head, payload, sealer, done);
    socket.uncork();
  }

  private writeTag(socket: Socket, head: Uint8Array, payload: Uint8Array, sealer: FrameSealer | undefined, done: (err?: Error | null) => void): void {
    const tag = sealer ? sealer.seal(head, payload) : EMPTY;
    this.sentBytes += head.byteLength + payload.byteLength + tag.byteLength;
    socket.write(tag, done);
  }

  /** node:net `onread` options for a socket we dial: reads land where the decoder wants them. */
  onreadOptions(): { buffer: () => Uint8Array; callback: (n: number, buf: Uint8Array) => boolean } {
    return {
      buffer: () => this.decoder.readTarget() ?? this.readBuffer,
      callback: (n, buf) => {
        this.receivedBytes += n;
        this.guard(() => (buf === this.readBuffer ? this.decoder.push(this.readBuffer.subarray(0, n)) : this.decoder.wrote(n)));
        return true;
      }
    };
  }

  /** Takes over a connected socket; `streamed` sockets (accepted ones) deliver 'data' events. */
  attach(socket: Socket, streamed: boolean): void {
    this.socket = socket;
    socket.setNoDelay(true);
    if (streamed) {
      socket.on('data', (chunk: Buffer) => {
        this.receivedBytes += chunk.byteLength;
        this.guard(() => this.decoder.push(chunk));
      });
    }
    socket.on('end', () => {
      // A process killed mid-send ends its stream inside a frame (more often now that a
      // large frame's tag leaves after its payload): a lost peer, not a malformed one.
      if (!this.decoder.atBoundary) this.fail(collectiveError('COLL_ERR_PEER_LOST', `rank ${this.peer}'s stream ended inside a frame`, this.peer));
    });
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
    // A write error also fails the socket ('error'), which reports it; nothing to add here.
    this.writeFrame(encodeFrame(message).head, EMPTY, () => undefined);
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
