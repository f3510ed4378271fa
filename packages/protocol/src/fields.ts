import { protocolError } from './errors.js';
import { MAX_STRING_LENGTH } from './limits.js';
import { previewValue } from './preview.js';

/** A decoded msgpack map, before validation. */
export type Fields = Readonly<Record<string, unknown>>;

/** Field checkers shared by every validator: each throws PROTOCOL_ERR_FIELD naming the field. */

/** Unknown keys are refused rather than ignored: a new field means a new version. */
export function only(h: Fields, keys: readonly string[]): void {
  for (const k of Object.keys(h)) {
    if (!keys.includes(k)) throw protocolError('PROTOCOL_ERR_FIELD', `unexpected field ${previewValue(k, 64)} in ${previewValue(h['t'], 32)}`);
  }
}

export function int(h: Fields, key: string, min: number, max: number): number {
  const value = h[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw protocolError('PROTOCOL_ERR_FIELD', `${key} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

export function str(h: Fields, key: string): string {
  const value = h[key];
  if (typeof value !== 'string' || value.length > MAX_STRING_LENGTH) {
    throw protocolError('PROTOCOL_ERR_FIELD', `${key} must be a string of at most ${MAX_STRING_LENGTH} characters`);
  }
  return value;
}

export function bin(h: Fields, key: string, length: number): Uint8Array {
  const value = h[key];
  if (!(value instanceof Uint8Array) || value.byteLength !== length) {
    throw protocolError('PROTOCOL_ERR_FIELD', `${key} must be ${length} bytes`);
  }
  return Uint8Array.from(value);
}

export function num(h: Fields, key: string, min = -Number.MAX_VALUE, max = Number.MAX_VALUE): number {
  const value = h[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw protocolError('PROTOCOL_ERR_FIELD', `${key} must be a finite number in [${min}, ${max}]`);
  }
  return value;
}

export function bool(h: Fields, key: string): boolean {
  const value = h[key];
  if (typeof value !== 'boolean') throw protocolError('PROTOCOL_ERR_FIELD', `${key} must be a boolean`);
  return value;
}

/** A string that must be one of `allowed`. */
export function oneOf<T extends string>(h: Fields, key: string, allowed: readonly T[]): T {
  const value = h[key];
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw protocolError('PROTOCOL_ERR_FIELD', `${key} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** A list of at most `maxLength` items, each checked by `item` (given a pseudo-map { value }). */
export function list<T>(h: Fields, key: string, maxLength: number, item: (element: unknown, index: number) => T): T[] {
  const value = h[key];
  if (!Array.isArray(value) || value.length > maxLength) {
    throw protocolError('PROTOCOL_ERR_FIELD', `${key} must be a list of at most ${maxLength} items`);
  }
  return value.map(item);
}

/** A nested map, checked like a header. */
export function map(h: Fields, key: string): Fields {
  const value = h[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw protocolError('PROTOCOL_ERR_FIELD', `${key} must be a map`);
  }
  return value as Fields;
}

/** Present and not undefined (msgpack has no undefined: absent fields mean "not set"). */
export function has(h: Fields, key: string): boolean {
  return h[key] !== undefined && h[key] !== null;
}
