import { decodeHalves, encodeHalves, roundToHalves } from '../reduce/half-float.js';
import type { HalfFormat } from '../reduce/half-float.js';

/**
 * How the values of one transfer travel: float32 as they are, or compressed to 2-byte
 * halves (gradient all-reduces between processes, `ProcessGroupOptions.compress`). The
 * algorithms never see it: the schedule runner stamps it on every transfer of the
 * operation, the link encodes on send and the inbox decodes (and combines in float32)
 * on receive.
 */
export type WireDtype = 'float32' | HalfFormat;
export type { HalfFormat };

/**
 * The payload of a send. float32: `data`'s own bytes (no copy). Halves: a new buffer, and
 * `data` rounded in place to what the peer will decode, so that every rank of an
 * all-reduce ends with the same bits (the owner of a reduced chunk keeps the rounded value
 * it sends, and partners that combine each other's values both combine rounded ones).
 */
export function encodePayload(dt: WireDtype, data: Float32Array): Uint8Array {
  if (dt === 'float32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 2);
  encodeHalves(dt, data, out);
  return out;
}

/** A whole received payload as float32 values (a view when it is float32 and aligned). */
export function decodePayload(dt: WireDtype, payload: Uint8Array, count: number): Float32Array {
  if (dt === 'float32') {
    const aligned = payload.byteOffset % 4 === 0 ? payload : payload.slice();
    return new Float32Array(aligned.buffer, aligned.byteOffset, count);
  }
  const out = new Float32Array(count);
  decodeHalves(dt, payload, out);
  return out;
}

/**
 * The end of an operation over a lossy wire: every value rounded to the wire format.
 * Values reach ranks by different paths (a chunk's owner reduced it, the others decoded
 * it; with recursive doubling on 3 ranks, one partner never sends its result), and
 * rounding is idempotent, so after this every rank holds the same bits.
 */
export function settleToWire(dt: WireDtype, values: Float32Array): void {
  if (dt !== 'float32') roundToHalves(dt, values);
}
