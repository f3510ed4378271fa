/**
 * float32 <-> bfloat16 and float32 <-> IEEE float16 bit conversions, rounding to nearest,
 * ties to even, for the compressed wire of gradient all-reduces. Hand-written (one small
 * file) rather than a dependency: @petamoriken/float16, the kept npm package, does float16
 * only, and Node 20 has no native Float16Array. NaN stays NaN (quiet, sign kept), ±Inf
 * stays ±Inf, values past the largest finite half round to ±Inf, subnormals are kept.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 bits -> bfloat16 bits. */
export function bfloat16BitsOf(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits >>> 0) + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/** float32 bits -> float16 bits. */
export function float16BitsOf(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const a = bits & 0x7fffffff;
  if (a >= 0x7f800000) return sign | (a > 0x7f800000 ? 0x7e00 : 0x7c00);
  // 65520 lies half-way between 65504 (odd mantissa) and 65536: it and above round to Inf.
  if (a >= 0x477ff000) return sign | 0x7c00;
  if (a < 0x38800000) {
    // Below the smallest normal half (2^-14): a multiple of 2^-24; exact in float64.
    u32[0] = a;
    const q = (f32[0] as number) * 16777216;
    const floor = Math.floor(q);
    const rest = q - floor;
    return sign | (rest > 0.5 || (rest === 0.5 && (floor & 1) === 1) ? floor + 1 : floor);
  }
  // Re-bias the exponent (127 -> 15) and keep 10 mantissa bits; a carry moves into the exponent.
  const h = (a - 0x38000000) >>> 13;
  const rest = a & 0x1fff;
  return sign | (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1) ? h + 1 : h);
}

let float16Table: Float32Array | undefined;

/** float16 bits -> float32 value, from a 65536-entry table built on first use. */
export function float16Table32(): Float32Array {
  if (float16Table) return float16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    const magnitude = e === 0 ? m * 2 ** -24 : e === 31 ? (m === 0 ? Infinity : NaN) : (1024 + m) * 2 ** (e - 25);
    table[h] = h & 0x8000 ? -magnitude : magnitude;
  }
  float16Table = table;
  return table;
}

export type HalfFormat = 'bfloat16' | 'float16';

/**
 * Writes `src` as 2-byte halves, little-endian, into `out` (2 x src.length bytes) and
 * rounds `src` in place to exactly the values the halves decode to, so the sender holds
 * the same bits as every receiver.
 */
export function encodeHalves(format: HalfFormat, src: Float32Array, out: Uint8Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const n = src.length;
  if (format === 'bfloat16') {
    for (let i = 0; i < n; i++) {
      const h = bfloat16BitsOf(bits[i] as number);
      out[2 * i] = h & 0xff;
      out[2 * i + 1] = h >>> 8;
      bits[i] = h << 16;
    }
    return;
  }
  const table = float16Table32();
  for (let i = 0; i < n; i++) {
    const h = float16BitsOf(bits[i] as number);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >>> 8;
    src[i] = table[h] as number;
  }
}

/** Rounds `values` in place to the nearest halves (what `encodeHalves` leaves in its source). */
export function roundToHalves(format: HalfFormat, values: Float32Array): void {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const n = values.length;
  if (format === 'bfloat16') {
    for (let i = 0; i < n; i++) bits[i] = bfloat16BitsOf(bits[i] as number) << 16;
    return;
  }
  const table = float16Table32();
  for (let i = 0; i < n; i++) values[i] = table[float16BitsOf(bits[i] as number)] as number;
}

/** Reads `out.length` little-endian halves from `bytes` (any alignment) as float32. */
export function decodeHalves(format: HalfFormat, bytes: Uint8Array, out: Float32Array): void {
  const n = out.length;
  if (format === 'bfloat16') {
    const bits = new Uint32Array(out.buffer, out.byteOffset, n);
    for (let i = 0; i < n; i++) bits[i] = ((bytes[2 * i] as number) | ((bytes[2 * i + 1] as number) << 8)) << 16;
    return;
  }
  const table = float16Table32();
  for (let i = 0; i < n; i++) out[i] = table[(bytes[2 * i] as number) | ((bytes[2 * i + 1] as number) << 8)] as number;
}
