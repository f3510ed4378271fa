import { protocolError } from './errors.js';

/**
 * Element types a raw payload may carry. `bfloat16` and `float16` are 2-byte halves,
 * little-endian (compressed gradients between processes); they are viewed as their bit
 * patterns (Uint16Array) and the collective layer converts them.
 */
export const DTYPES = ['float32', 'int32', 'uint16', 'bfloat16', 'float16'] as const;
export type Dtype = (typeof DTYPES)[number];

export const BYTES_PER_ELEMENT: Readonly<Record<Dtype, number>> = Object.freeze({
  float32: 4,
  int32: 4,
  uint16: 2,
  bfloat16: 2,
  float16: 2
});

export type TypedPayload = Float32Array | Int32Array | Uint16Array;

export function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

export function dtypeOf(array: TypedPayload): Dtype {
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Int32Array) return 'int32';
  return 'uint16';
}

/** The bytes of a typed array, as a view (no copy). */
export function bytesOf(array: TypedPayload): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * A typed view over received payload bytes. Copies only when the bytes are not aligned
 * to the element size (a typed array view requires an aligned offset).
 */
export function viewPayload(dtype: Dtype, bytes: Uint8Array): TypedPayload {
  const size = BYTES_PER_ELEMENT[dtype];
  if (bytes.byteLength % size !== 0) {
    throw protocolError('PROTOCOL_ERR_LENGTH', `payload of ${bytes.byteLength} bytes is not a whole number of ${dtype}`);
  }
  // new Uint8Array(view) copies; slice() would not on a Node Buffer (Buffer#slice is a view).
  const aligned = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  const n = aligned.byteLength / size;
  switch (dtype) {
    case 'float32':
      return new Float32Array(aligned.buffer, aligned.byteOffset, n);
    case 'int32':
      return new Int32Array(aligned.buffer, aligned.byteOffset, n);
    case 'uint16':
    case 'bfloat16':
    case 'float16':
      return new Uint16Array(aligned.buffer, aligned.byteOffset, n);
  }
}
