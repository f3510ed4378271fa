import { randomBytes } from 'node:crypto';
import net from 'node:net';

/**
 * A bare WebSocket client over node:net, for fuzzing: it writes whatever bytes it is
 * given after the upgrade — well-formed frames, text frames, lying length fields,
 * unmasked or fragmented frames — and records what the server answers (data messages,
 * its close code, whether it closed). The `ws` client cannot send most of these.
 */

export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface WsFrameSpec {
  readonly opcode: number;
  readonly payload: Uint8Array;
  /** Default true. */
  readonly fin?: boolean;
  /** Clients must mask (RFC 6455 5.1); default true. */
  readonly masked?: boolean;
  /** RSV1-3 bits (0..7); default 0. */
  readonly rsv?: number;
  /** A length field that lies about the payload (e.g. 2^40); default the real length. */
  readonly declaredLength?: number;
}

/** One WebSocket frame as a client writes it. */
export function wsFrame(spec: WsFrameSpec): Buffer {
  const fin = spec.fin ?? true;
  const masked = spec.masked ?? true;
  const length = spec.declaredLength ?? spec.payload.byteLength;
  const head: number[] = [(fin ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | (spec.opcode & 0x0f)];
  const maskBit = masked ? 0x80 : 0;
  let extended = Buffer.alloc(0);
  if (length < 126) head.push(maskBit | length);
  else if (length < 0x10000) {
    head.push(maskBit | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(length);
  } else {
    head.push(maskBit | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(BigInt(length));
  }
  if (!masked) return Buffer.concat([Buffer.from(head), extended, spec.payload]);
  // Small frames get a real mask; big ones an all-zero key (valid: RFC 6455 only asks
  // for the bit and a key), which spares the fuzzer a byte loop over every payload.
  if (spec.payload.byteLength > 4096) return Buffer.concat([Buffer.from(head), extended, Buffer.alloc(4), spec.payload]);
  const mask = randomBytes(4);
  const payload = Buffer.from(spec.payload);
  for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return Buffer.concat([Buffer.from(head), extended, mask, payload]);
}

export interface WsOutcome {
  /** HTTP status of the upgrade answer; undefined when none came. */
  readonly status: number | undefined;
  /** Data messages (binary or text) the server sent, reassembled. */
  readonly messages: Buffer[];
  /** Status code in the server's close frame; undefined when it sent none. */
  readonly closeCode: number | undefined;
  /** The TCP connection ended (the server closed it, or we did after its close frame). */
  readonly closed: boolean;
  /** Nothing closed it within the deadline; we destroyed it. */
  readonly timedOut: boolean;
  /** A socket error (connection refused, reset, ...), if any. */
  readonly error: string | undefined;
}

interface Parsed {
  messages: Buffer[];
  closeCode: number | undefined;
  sawClose: boolean;
}

/** Reads the server's frames from `buffer`; returns the bytes it could not parse yet. */
function parseServerFrames(buffer: Buffer, into: Parsed, partial: Buffer[]): Buffer {
  let at = 0;
  for (;;) {
    if (buffer.length - at < 2) break;
    const b0 = buffer[at] as number;
    const b1 = buffer[at + 1] as number;
    let length = b1 & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (buffer.length - offset < 2) break;
      length = buffer.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      if (buffer.length - offset < 8) break;
      length = Number(buffer.readBigUInt64BE(offset));
      offset += 8;
    }
    const maskKey = (b1 & 0x80) !== 0 ? buffer.subarray(offset, offset + 4) : undefined;
    if (maskKey) offset += 4;
    if (buffer.length - offset < length) break;
    const payload = Buffer.from(buffer.subarray(offset, offset + length));
    if (maskKey) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (maskKey[i & 3] as number);
    at = offset + length;
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (opcode === OPCODE.close) {
      into.sawClose = true;
      into.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : undefined;
    } else if (opcode === OPCODE.text || opcode === OPCODE.binary || opcode === OPCODE.continuation) {
      partial.push(payload);
      if (fin) into.messages.push(Buffer.concat(partial.splice(0)));
    }
  }
  return buffer.subarray(at);
}

/**
 * Connects, upgrades, writes `bytes` (raw bytes after the upgrade, typically made with
 * `wsFrame`) in one write, and collects the answer until the connection closes or
 * `timeoutMs` passes. Answers the server's close frame as a polite client would.
 * `token`: sent in the upgrade (the coordinator answers 401 without it).
 */
export function wsExchange(options: { host: string; port: number; bytes: Uint8Array; timeoutMs: number; token?: string }): Promise<WsOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: options.host, port: options.port });
    const parsed: Parsed = { messages: [], closeCode: undefined, sawClose: false };
    const partial: Buffer[] = [];
    let status: number | undefined;
    let pending: Buffer = Buffer.alloc(0);
    let error: string | undefined;
    let timedOut = false;
    let answeredClose = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, options.timeoutMs);
    socket.setNoDelay(true);
    socket.on('connect', () => {
      const key = randomBytes(16).toString('base64');
      socket.write(`GET / HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${options.token === undefined ? '' : `Authorization: Bearer ${options.token}\r\n`}\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (status === undefined) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const statusLine = pending.subarray(0, pending.indexOf('\r\n')).toString('latin1');
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
        pending = pending.subarray(end + 4);
        if (status !== 101) return;
        socket.write(options.bytes);
      }
      if (status !== 101) return;
      pending = parseServerFrames(pending, parsed, partial);
      if (parsed.sawClose && !answeredClose) {
        answeredClose = true;
        const code = Buffer.alloc(2);
        code.writeUInt16BE(parsed.closeCode ?? 1000);
        socket.end(wsFrame({ opcode: OPCODE.close, payload: code }));
      }
    });
    // A reset after the server's close, or a write into a closed socket, is part of the story, not a failure.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error ??= err.code ?? err.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ status, messages: parsed.messages, closeCode: parsed.closeCode, closed: !timedOut, timedOut, error });
    });
  });
}
