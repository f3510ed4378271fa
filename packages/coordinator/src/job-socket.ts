import { DEFAULT_FRAME_LIMITS, decodeFrameBytes, encodeFrame, PROTOCOL_VERSION, type FrameLimits, type JobMessage, type Message } from '@tfjs-ddp/protocol';
import type { RawData, WebSocket } from 'ws';

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
 * The coordinator <-> worker link: one protocol frame (msgpack header + raw payload) per
 * binary WebSocket message, validated on arrival; text messages are invalid.
 */
export class JobSocket {
  constructor(
    readonly ws: WebSocket,
    handlers: JobSocketHandlers,
    private readonly limits: FrameLimits = DEFAULT_FRAME_LIMITS,
  ) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        handlers.invalid(Object.assign(new Error('text messages are not part of the protocol'), { code: 'PROTOCOL_ERR_DECODE' }));
        return;
      }
      let decoded: { message: Message; payload: Uint8Array };
      try {
        decoded = decodeFrameBytes(bytesOf(data), this.limits);
      } catch (error) {
        handlers.invalid(error as Error);
        return;
      }
      try {
        handlers.message(decoded.message, decoded.payload);
      } catch (error) {
        // A message this side cannot act on ends the link like an invalid one, not the process.
        handlers.invalid(error as Error);
      }
    });
    ws.on('close', (code, reason) => handlers.close(code, reason.toString()));
    // 'error' is followed by 'close'; listening keeps it from being thrown.
    ws.on('error', () => undefined);
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  /** Sends one message; the payload parts (raw typed-array bytes) follow the header. */
  send(message: Outgoing, ...payload: Uint8Array[]): void {
    if (!this.open) return;
    const body = payload.length === 1 ? (payload[0] as Uint8Array) : Buffer.concat(payload);
    const frame = encodeFrame({ ...message, v: PROTOCOL_VERSION } as Message, body, this.limits);
    this.ws.send(Buffer.concat([frame.head, frame.payload]), { binary: true });
  }

  close(code = 1000, reason = ''): void {
    if (this.ws.readyState === this.ws.CLOSED || this.ws.readyState === this.ws.CLOSING) return;
    this.ws.close(code, reason.slice(0, 120));
  }
}

/** Raw bytes of a typed array, without copying. */
export function rawBytes(array: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
