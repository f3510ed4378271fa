import { readFileSync } from 'node:fs';
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

/** Copies `count` elements out of `bytes` (which need not be aligned) into a typed array. */
function readValues(file: string, descr: string, bytes: Uint8Array, count: number): NpyArray['data'] {
  const aligned = new Uint8Array(bytes.byteLength);
  aligned.set(bytes);
  const buffer = aligned.buffer;
  const needs = (width: number): void => {
    if (bytes.byteLength < count * width) {
      fail(file, `payload has ${bytes.byteLength} bytes but the header declares ${count} values of ${width} bytes`);
    }
  };
  switch (descr) {
    case '<f4':
      needs(4);
      return new Float32Array(buffer, 0, count);
    case '<f8':
      needs(8);
      return new Float64Array(buffer, 0, count);
    case '|u1':
    case '<u1':
      needs(1);
      return new Uint8Array(buffer, 0, count);
    case '|i1':
    case '<i1':
      needs(1);
      return Int32Array.from(new Int8Array(buffer, 0, count));
    case '<i2':
      needs(2);
      return Int32Array.from(new Int16Array(buffer, 0, count));
    case '<u2':
      needs(2);
      return Int32Array.from(new Uint16Array(buffer, 0, count));
    case '<i4':
      needs(4);
      return new Int32Array(buffer, 0, count);
    case '<i8':
      needs(8);
      return new BigInt64Array(buffer, 0, count);
    default:
      throw new DataError(
        'DATA_ERR_NPY_DTYPE',
        `${file}: unsupported dtype ${descr}; use little-endian float32/float64 or (u)int8/16, int32/64`,
      );
  }
}

/** Parses the bytes of a `.npy` file (format versions 1, 2 and 3). `file` names it in errors. */
export function parseNpy(bytes: Uint8Array, file = '<npy>'): NpyArray {
  if (bytes.byteLength < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail(file, 'not a .npy file (bad magic)');
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) fail(file, 'truncated header');
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    fail(file, `unsupported .npy format version ${major}`);
  }
  if (headerStart + headerLength > bytes.byteLength) fail(file, 'truncated header');
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength));
  const { descr, fortran, shape } = parseHeader(file, header);
  if (fortran) fail(file, 'Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
  const count = shape.reduce((a, b) => a * b, 1);
  const data = readValues(file, descr, bytes.subarray(headerStart + headerLength), count);
  return { dtype: descr, shape, data };
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
