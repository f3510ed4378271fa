import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { DataError } from './errors.js';

/** An array read from a NumPy `.npy` file. */
export interface NpyArray {
  dtype: string;
  shape: number[];
  /** The values, widened to a JS typed array of the dtype's family. */
  data: Float32Array | Float64Array | Int32Array | Uint8Array | BigInt64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function fail(file: string, message: string): never {
  throw new DataError('DATA_ERR_NPY_FORMAT', `${file}: ${message}`);
}

function parseHeader(file: string, text: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    fail(file, `malformed .npy header ${JSON.stringify(text.trim())}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const n = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(n) || n < 0) fail(file, `bad dimension "${s}" in shape (${shapeText})`);
      return n;
    });
  return { descr, fortran: fortran === 'True', shape };
}

/** The raw values of a `.npy` payload, as the file lays them out. */
export type NpyRawValues = Float32Array | Float64Array | Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | BigInt64Array;

/** How one supported dtype lays out a value: its width in bytes and a view of (aligned) raw bytes as it. */
export interface NpyDtype {
  width: number;
  view(buffer: ArrayBufferLike, byteOffset: number, count: number): NpyRawValues;
}

/** Every dtype read here: little-endian (or byte-wide) numbers. */
const DTYPES: ReadonlyMap<string, NpyDtype> = new Map<string, NpyDtype>([
  ['<f4', { width: 4, view: (b, o, n) => new Float32Array(b, o, n) }],
  ['<f8', { width: 8, view: (b, o, n) => new Float64Array(b, o, n) }],
  ['|u1', { width: 1, view: (b, o, n) => new Uint8Array(b, o, n) }],
  ['<u1', { width: 1, view: (b, o, n) => new Uint8Array(b, o, n) }],
  ['|i1', { width: 1, view: (b, o, n) => new Int8Array(b, o, n) }],
  ['<i1', { width: 1, view: (b, o, n) => new Int8Array(b, o, n) }],
  ['<i2', { width: 2, view: (b, o, n) => new Int16Array(b, o, n) }],
  ['<u2', { width: 2, view: (b, o, n) => new Uint16Array(b, o, n) }],
  ['<i4', { width: 4, view: (b, o, n) => new Int32Array(b, o, n) }],
  ['<i8', { width: 8, view: (b, o, n) => new BigInt64Array(b, o, n) }],
]);

/** The layout of `descr`, or DATA_ERR_NPY_DTYPE naming `file`. */
export function npyDtype(file: string, descr: string): NpyDtype {
  const dtype = DTYPES.get(descr);
  if (dtype === undefined) {
    throw new DataError(
      'DATA_ERR_NPY_DTYPE',
      `${file}: unsupported dtype ${descr}; use little-endian float32/float64 or (u)int8/16, int32/64`,
    );
  }
  return dtype;
}

/** Copies `count` elements out of `bytes` (which need not be aligned) into a typed array; small integers widen to int32. */
function readValues(file: string, descr: string, bytes: Uint8Array, count: number): NpyArray['data'] {
  const dtype = npyDtype(file, descr);
  if (bytes.byteLength < count * dtype.width) {
    fail(file, `payload has ${bytes.byteLength} bytes but the header declares ${count} values of ${dtype.width} bytes`);
  }
  const aligned = new Uint8Array(count * dtype.width);
  aligned.set(bytes.subarray(0, aligned.byteLength));
  const values = dtype.view(aligned.buffer, 0, count);
  return values instanceof Int8Array || values instanceof Int16Array || values instanceof Uint16Array ? Int32Array.from(values) : values;
}

/** What a `.npy` header says: the dtype, the shape (C order) and where the values start. */
export interface NpyHeader {
  descr: string;
  shape: number[];
  /** Byte offset of the first value in the file. */
  dataOffset: number;
}

/** Bytes of the preamble before the header text: magic, version, header length. */
const PREAMBLE_BYTES = { 1: 10, 2: 12, 3: 12 } as const;

/**
 * Parses the header at the start of `bytes` (format versions 1, 2 and 3); `bytes` may end
 * right after it. `file` names it in errors.
 */
export function parseNpyHeader(bytes: Uint8Array, file = '<npy>'): NpyHeader {
  if (bytes.byteLength < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail(file, 'not a .npy file (bad magic)');
  const major = bytes[6] as number;
  if (major !== 1 && major !== 2 && major !== 3) fail(file, `unsupported .npy format version ${major}`);
  const headerStart = PREAMBLE_BYTES[major];
  if (bytes.byteLength < headerStart) fail(file, 'truncated header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerStart + headerLength > bytes.byteLength) fail(file, 'truncated header');
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength));
  const { descr, fortran, shape } = parseHeader(file, header);
  if (fortran) fail(file, 'Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
  return { descr, shape, dataOffset: headerStart + headerLength };
}

/** Parses the bytes of a `.npy` file (format versions 1, 2 and 3). `file` names it in errors. */
export function parseNpy(bytes: Uint8Array, file = '<npy>'): NpyArray {
  const { descr, shape, dataOffset } = parseNpyHeader(bytes, file);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = readValues(file, descr, bytes.subarray(dataOffset), count);
  return { dtype: descr, shape, data };
}

/** Reads only the header of a `.npy` file on disk, and the file's size. */
export function readNpyHeader(file: string): NpyHeader & { fileBytes: number } {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const fileBytes = fstatSync(fd).size;
    const preamble = new Uint8Array(12);
    const got = readSync(fd, preamble, 0, preamble.byteLength, 0);
    const major = preamble[6];
    const lengthOf = new DataView(preamble.buffer);
    // Only as much as the header claims (and the file holds); anything odd is left for parseNpyHeader to name.
    const end = major === 1 && got >= 10 ? 10 + lengthOf.getUint16(8, true)
      : (major === 2 || major === 3) && got >= 12 ? 12 + lengthOf.getUint32(8, true)
      : got;
    const bytes = new Uint8Array(Math.min(end, fileBytes));
    readFully(fd, bytes, 0);
    return { ...parseNpyHeader(bytes, file), fileBytes };
  } catch (cause) {
    if (cause instanceof DataError) throw cause;
    throw new DataError('DATA_ERR_NPY_FORMAT', `${file}: cannot read (${(cause as Error).message})`, { cause });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Fills `into` from `position` on (a positional read may return less than asked); returns the bytes read, fewer only at the end of the file. */
export function readFully(fd: number, into: Uint8Array, position: number): number {
  let done = 0;
  while (done < into.byteLength) {
    const got = readSync(fd, into, done, into.byteLength - done, position + done);
    if (got === 0) break;
    done += got;
  }
  return done;
}

export function readNpy(file: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    throw new DataError('DATA_ERR_NPY_FORMAT', `${file}: cannot read (${(cause as Error).message})`, { cause });
  }
  return parseNpy(bytes, file);
}

/** Serializes a float32 or int32 array as a version-1 `.npy` file (for tests and exports). */
export function encodeNpy(data: Float32Array | Int32Array | Uint8Array, shape: readonly number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Int32Array ? '<i4' : '|u1';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Header plus its 10-byte preamble is padded to a multiple of 64, ending in a newline.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}
