import type { RawData, WebSocket } from 'ws';
import { protocolError } from './errors.js';
import { FragmentSender } from './fragment-sender.js';
import { decodeFrameBytes, encodeFrame } from './frame.js';
import type { JobMessage } from './job-messages.js';
import { DEFAULT_FRAME_LIMITS, type FrameLimits } from './limits.js';
import { PROTOCOL_VERSION, type Message } from './messages.js';

/** How long a closing handshake may wait for the peer's answer before the connection is dropped. */
const CLOSE_HANDSHAKE_MS = 1_000;
/** How long a closing side keeps sending what it had queued before it drops the peer. */
const CLOSE_FLUSH_MS = 5_000;

/** A job message as a sender writes it: the version is added on the way out. */
export type Outgoing = JobMessage extends infer M ? (M extends { v: number } ? Omit<M, 'v'> : never) : never;

export interface JobSocketHandlers {
  message: (message: Message, payload: Uint8Array) => void;
  /** A frame that does not decode or validate: the peer is closed after this. */
  invalid: (error: Error) => void;
  close: (code: number, reason: string) => void;
}

function bytesOf(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/**
 * The coordinator <-> worker link, used by both ends: one protocol frame (msgpack header +
 * raw payload) per binary WebSocket message, validated on arrival; text messages are
 * invalid. The payload parts a sender passes are laid out by `payloads.ts`.
 */
export class JobSocket {
  /** Set once this side closes: frames the peer had already sent are dropped, not acted on. */
  private closing = false;
  private readonly sender: FragmentSender;
  private receivedAt = 0;

  constructor(
    readonly ws: WebSocket,
    handlers: JobSocketHandlers,
    private readonly limits: FrameLimits = DEFAULT_FRAME_LIMITS,
  ) {
    this.sender = new FragmentSender(ws);
    ws.on('message', (data, isBinary) => {
      this.receivedAt = performance.now();
      if (this.closing) return;
      try {
        if (!isBinary) throw protocolError('PROTOCOL_ERR_DECODE', 'text messages are not part of the protocol');
        const decoded = decodeFrameBytes(bytesOf(data), this.limits);
        handlers.message(decoded.message, decoded.payload);
      } catch (error) {
        // A frame this side cannot decode or act on ends the link, never the process.
        this.invalid(handlers, error as Error);
      }
    });
    ws.on('close', (code, reason) => handlers.close(code, reason.toString()));
    // 'error' is followed by 'close'; listening keeps it from being thrown.
    ws.on('error', () => undefined);
  }

  private invalid(handlers: JobSocketHandlers, error: Error): void {
    try {
      handlers.invalid(error);
    } catch (failure) {
      // Even the refusal could not be sent (a bug): drop the peer rather than crash.
      this.closing = true;
      this.terminate();
      process.emitWarning(`dropped a peer whose invalid message could not be answered: ${(failure as Error).message}`);
    }
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  /**
   * When the peer last showed it is there by more than a pong (performance.now(); 0:
   * never): a message from it arrived, or bytes to it were written out.
   */
  get progressAt(): number {
    return Math.max(this.receivedAt, this.sender.progressAt);
  }

  /**
   * Sends one message; the payload parts (raw typed-array bytes) follow the header. Big
   * frames go out in fragments within a window (see FragmentSender), in call order.
   */
  send(message: Outgoing, ...payload: Uint8Array[]): void {
    if (!this.open || this.closing) return;
    const body = payload.length === 1 ? (payload[0] as Uint8Array) : Buffer.concat(payload);
    const frame = encodeFrame({ ...message, v: PROTOCOL_VERSION } as Message, body, this.limits);
    // One copy: the caller may reuse its payload once send returns, while fragments go out later.
    this.sender.send(Buffer.concat([frame.head, frame.payload]));
  }

  /**
   * Sends what is queued (a `fail` or `refuse` before the close must arrive), then starts
   * the closing handshake. A peer that has not taken the queued messages within
   * CLOSE_FLUSH_MS, or does not answer the close within CLOSE_HANDSHAKE_MS (frozen, cut
   * off), is dropped rather than holding the socket, and with it a server's close and the
   * process's exit, for ws's own 30 s.
   */
  close(code = 1000, reason = ''): void {
    this.closing = true;
    if (this.ws.readyState === this.ws.CLOSED || this.ws.readyState === this.ws.CLOSING) return;
    let deadline = setTimeout(() => this.terminate(), CLOSE_FLUSH_MS);
    this.ws.once('close', () => clearTimeout(deadline));
    this.sender.whenFlushed(() => {
      clearTimeout(deadline);
      deadline = setTimeout(() => this.terminate(), CLOSE_HANDSHAKE_MS);
      // A close reason is at most 123 bytes (ws throws past it); a character cut in half is dropped.
      this.ws.close(code, Buffer.from(reason).subarray(0, 123).toString().replace(/\uFFFD+$/, ''));
    });
  }

  private terminate(): void {
    this.sender.drop();
    this.ws.terminate();
  }
}
