import { Packr, Unpackr } from 'msgpackr';
import { protocolError } from './errors.js';
import { DEFAULT_FRAME_LIMITS } from './limits.js';
import { scanMsgpack } from './msgpack-scan.js';
import type { FrameLimits } from './limits.js';
import type { Message } from './messages.js';
import { validateMessage } from './validate.js';

/**
 * A frame on a byte stream:
 *
 *   u32 LE header length | u32 LE payload length | msgpack header | raw payload
 *
 * The header is a small msgpack map (see `messages.ts`); the payload is the raw bytes of
 * a typed array, never msgpack-encoded (msgpackr packs a 16 MB Float32Array at ~0.17
 * GB/s, far below what a socket moves). Both lengths come first so a receiver checks
 * them against its limits before it allocates or buffers anything.
 */
export const FRAME_PREFIX_BYTES = 8;

/**
 * The one msgpack encoder and decoder of every frame (coordinator, worker, peer links).
 * Headers are plain maps of plain values; every option below keeps them that way.
 * - useRecords: false: no record structures (msgpackr's own extension), which would let
 *   a peer make us keep per-connection structure state; records are refused by the scan
 *   as well, since msgpackr reads a record definition (fixext 0x72) even with this off.
 * - encodeUndefinedAsNil (encoder): an undefined field is written as nil, not as the
 *   undefined extension, so our own frames never carry an ext the scan would refuse
 *   (validators treat nil and absent alike).
 * - structuredClone: false: msgpackr refuses its shared-reference extensions (0x69 id,
 *   0x70 pointer); with them a 400-byte frame decodes to a DAG that reuses one object
 *   exponentially often. The scan refuses them first; this is the second lock.
 * - moreTypes: false, bundleStrings: false, sequential: false: no extra types, no
 *   bundled strings (ext 0x62), no structures carried across messages.
 * - mapsAsObjects: true: maps become plain objects for the validators, who copy only
 *   the fields they know into a fresh object.
 * - int64AsType 'number': 64-bit integers become numbers (validators check ranges), not BigInts.
 * msgpackr's extensions are module-global (any code may add one), which is why
 * `decodeHeader` scans the bytes itself and refuses every ext before msgpackr runs.
 */
const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, moreTypes: false, bundleStrings: false, structuredClone: false });
const unpackr = new Unpackr({
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  sequential: false,
  mapsAsObjects: true,
  int64AsType: 'number',
});

export interface EncodedFrame {
  /** Prefix and header, one small buffer. */
  readonly head: Buffer;
  /** The payload bytes as given (a view, not a copy); empty when the message has none. */
  readonly payload: Uint8Array;
}

/**
 * Encodes a message as a frame. The payload is not copied: the caller writes `head` and
 * then `payload` to the socket (`writev`), and must not change the payload's bytes until
 * the write has completed.
 */
export function encodeFrame(message: Message, payload?: Uint8Array, limits: FrameLimits = DEFAULT_FRAME_LIMITS): EncodedFrame {
  const body = payload ?? new Uint8Array(0);
  // Validating our own message catches a sender bug (a length that disagrees with the
  // payload) here instead of as a protocol error on the peer.
  validateMessage(message, body.byteLength);
  const header = packr.pack(message);
  if (header.byteLength > limits.maxHeaderBytes) {
    throw protocolError('PROTOCOL_ERR_TOO_LARGE', `header of ${header.byteLength} bytes exceeds ${limits.maxHeaderBytes}`);
  }
  if (body.byteLength > limits.maxPayloadBytes) {
    throw protocolError('PROTOCOL_ERR_TOO_LARGE', `payload of ${body.byteLength} bytes exceeds ${limits.maxPayloadBytes}`);
  }
  const head = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + header.byteLength);
  head.writeUInt32LE(header.byteLength, 0);
  head.writeUInt32LE(body.byteLength, 4);
  head.set(header, FRAME_PREFIX_BYTES);
  return { head, payload: body };
}

/** A frame as one contiguous buffer (tests, message-oriented transports). Copies. */
export function encodeFrameBytes(message: Message, payload?: Uint8Array, limits?: FrameLimits): Buffer {
  const { head, payload: body } = encodeFrame(message, payload, limits);
  return Buffer.concat([head, body]);
}

/**
 * Decodes and validates one header (the bytes between the prefix and the payload). The
 * only way bytes from the network become a value: the scan bounds the structure first
 * (no extensions, no lying lengths, bounded depth and count), then msgpackr builds it.
 */
export function decodeHeader(bytes: Uint8Array, payloadBytes: number): Message {
  scanMsgpack(bytes);
  let decoded: unknown;
  try {
    decoded = unpackr.unpack(bytes);
  } catch (err) {
    throw protocolError('PROTOCOL_ERR_DECODE', 'header is not one well-formed msgpack value', err);
  }
  return validateMessage(decoded, payloadBytes);
}

/**
 * Decodes one whole frame held in one buffer (a WebSocket message): checks both lengths
 * against the limits before looking further, then the header. The payload is a view.
 */
export function decodeFrameBytes(bytes: Uint8Array, limits: FrameLimits = DEFAULT_FRAME_LIMITS): { message: Message; payload: Uint8Array } {
  if (bytes.byteLength < FRAME_PREFIX_BYTES) {
    throw protocolError('PROTOCOL_ERR_TRUNCATED', `frame of ${bytes.byteLength} bytes is shorter than its ${FRAME_PREFIX_BYTES}-byte prefix`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = view.getUint32(0, true);
  const payloadBytes = view.getUint32(4, true);
  if (headerBytes > limits.maxHeaderBytes) {
    throw protocolError('PROTOCOL_ERR_TOO_LARGE', `header of ${headerBytes} bytes exceeds ${limits.maxHeaderBytes}`);
  }
  if (payloadBytes > limits.maxPayloadBytes) {
    throw protocolError('PROTOCOL_ERR_TOO_LARGE', `payload of ${payloadBytes} bytes exceeds ${limits.maxPayloadBytes}`);
  }
  const total = FRAME_PREFIX_BYTES + headerBytes + payloadBytes;
  if (bytes.byteLength !== total) {
    const code = bytes.byteLength < total ? 'PROTOCOL_ERR_TRUNCATED' : 'PROTOCOL_ERR_LENGTH';
    throw protocolError(code, `frame declares ${total} bytes but holds ${bytes.byteLength}`);
  }
  const message = decodeHeader(bytes.subarray(FRAME_PREFIX_BYTES, FRAME_PREFIX_BYTES + headerBytes), payloadBytes);
  return { message, payload: bytes.subarray(FRAME_PREFIX_BYTES + headerBytes) };
}
