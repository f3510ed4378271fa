import { protocolError } from './errors.js';

/**
 * Bounds on the structure of one msgpack value from the network, checked before a
 * single byte reaches msgpackr.
 */
export interface ScanLimits {
  /** Deepest nesting of arrays and maps (a header nests about 3 deep). */
  readonly maxDepth: number;
  /** Most values in total (map keys, map values, array items and scalars). */
  readonly maxItems: number;
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = Object.freeze({ maxDepth: 16, maxItems: 1 << 16 });

/**
 * Walks one msgpack value without building it, iteratively (no recursion a deep input
 * could exhaust), and throws PROTOCOL_ERR_DECODE unless the bytes are exactly one value
 * that uses only the plain types: nil, booleans, numbers, strings, bin, arrays, and maps
 * whose keys are strings. Refused before msgpackr sees them:
 * - every ext type (fixext1..16, ext8/16/32), whatever its type code: msgpackr's default
 *   extensions include shared references (0x69/0x70), which let a few hundred bytes
 *   decode into a DAG that anything walking it (a stringifier) sees as exponential,
 *   record definitions (0x72, live even with useRecords: false), Sets, RegExps, Errors,
 *   BigInts, typed arrays, bundled strings and Dates; our own headers use none of them;
 * - a length (string, bin, array, map) that claims more than the bytes left, so
 *   msgpackr never runs `new Array(declared)` on a lie;
 * - nesting deeper than `maxDepth`, more values than `maxItems`, the unused byte 0xc1,
 *   and bytes after the value.
 * After this, decoding costs time and memory linear in the input's length.
 */
export function scanMsgpack(bytes: Uint8Array, limits: ScanLimits = DEFAULT_SCAN_LIMITS): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.byteLength;
  // One entry per open container: the values it still holds (a map counts its keys and
  // its values, so an even count left means the next value is a key) and its kind.
  const left: number[] = [];
  const isMap: boolean[] = [];
  let at = 0;
  let items = 0;
  const fail = (what: string): never => {
    throw protocolError('PROTOCOL_ERR_DECODE', `header rejected at byte ${at}: ${what}`);
  };
  const need = (n: number): void => {
    if (n > end - at) fail(`declares ${n} bytes but ${end - at} remain`);
  };
  const uint = (size: 1 | 2 | 4): number => {
    need(size);
    const value = size === 1 ? view.getUint8(at) : size === 2 ? view.getUint16(at) : view.getUint32(at);
    at += size;
    return value;
  };
  const open = (count: number, map: boolean): void => {
    const values = map ? count * 2 : count;
    // Each value takes at least one byte: a count larger than the bytes left is a lie.
    if (values > end - at) fail(`a ${map ? 'map' : 'array'} of ${count} entries in ${end - at} bytes`);
    if (left.length >= limits.maxDepth) fail(`nesting deeper than ${limits.maxDepth}`);
    if (values > 0) {
      left.push(values);
      isMap.push(map);
    }
  };
  do {
    if (at >= end) fail('the value ends early');
    if (++items > limits.maxItems) fail(`more than ${limits.maxItems} values`);
    const top = left.length - 1;
    // This value takes one slot of the container it is in; in a map, every other one is a key.
    const mustBeKey = top >= 0 && (isMap[top] as boolean) && (left[top] as number) % 2 === 0;
    if (top >= 0) left[top] = (left[top] as number) - 1;
    const b = view.getUint8(at++);
    let isString = false;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      // fixint, negative fixint, nil, false, true: the byte is the value.
    } else if (b <= 0x8f) open(b & 0x0f, true);
    else if (b <= 0x9f) open(b & 0x0f, false);
    else if (b <= 0xbf) {
      isString = true;
      need(b & 0x1f);
      at += b & 0x1f;
    } else if (b === 0xc4 || b === 0xc5 || b === 0xc6 || b === 0xd9 || b === 0xda || b === 0xdb) {
      isString = b >= 0xd9;
      const n = uint(b === 0xc4 || b === 0xd9 ? 1 : b === 0xc5 || b === 0xda ? 2 : 4);
      need(n);
      at += n;
    } else if (b === 0xca || b === 0xcb || (b >= 0xcc && b <= 0xd3)) {
      const size = b === 0xca ? 4 : b === 0xcb ? 8 : 1 << ((b - 0xcc) & 3);
      need(size);
      at += size;
    } else if (b === 0xdc || b === 0xdd) open(uint(b === 0xdc ? 2 : 4), false);
    else if (b === 0xde || b === 0xdf) open(uint(b === 0xde ? 2 : 4), true);
    else if ((b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8)) {
      const typeAt = b <= 0xc9 ? at + (1 << (b - 0xc7)) : at;
      fail(`msgpack extension type ${typeAt < end ? view.getInt8(typeAt) : '?'} (byte 0x${b.toString(16)}); headers use no extensions`);
    } else fail(`byte 0x${b.toString(16)} is not msgpack`);
    if (mustBeKey && !isString) fail('a map key that is not a string');
    // Close every container whose last value this was (a container just opened has values left).
    while (left.length > 0 && left[left.length - 1] === 0) {
      left.pop();
      isMap.pop();
    }
  } while (left.length > 0);
  if (at !== end) fail(`${end - at} bytes after the value`);
}
