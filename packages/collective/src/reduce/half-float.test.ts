import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bfloat16BitsOf, decodeHalves, encodeHalves, float16BitsOf, float16Table32 } from './half-float.js';

// References computed another way: candidates from the bit patterns, the nearer chosen by
// float64 distance (ties: the even pattern), instead of the integer-bias tricks under test.
const view = new DataView(new ArrayBuffer(4));
function f32OfBits(bits: number): number {
  view.setUint32(0, bits >>> 0);
  return view.getFloat32(0);
}
function bitsOfF32(x: number): number {
  view.setFloat32(0, x);
  return view.getUint32(0);
}

function referenceBf16(bits: number): number {
  const x = f32OfBits(bits);
  if (Number.isNaN(x)) return -1;
  const lo = (bits >>> 16) & 0xffff;
  if (!Number.isFinite(x)) return lo;
  const hi = lo + 1;
  const valueOf = (h: number): number => ((h & 0x7f80) === 0x7f80 ? Math.sign(x) * 2 ** 128 : f32OfBits(h << 16));
  const dLo = Math.abs(x - valueOf(lo));
  const dHi = Math.abs(x - valueOf(hi));
  return dLo < dHi || (dLo === dHi && (lo & 1) === 0) ? lo : hi;
}

/** Non-negative finite float16 values by pattern 0..0x7bff, from the format's definition, plus 65536 for Inf's place. */
const HALF_VALUES = Array.from({ length: 0x7c01 }, (_, h) => {
  const e = h >>> 10;
  const m = h & 0x3ff;
  return e === 0 ? m / 1024 / 16384 : Math.pow(2, e - 15) * (1 + m / 1024);
});
function referenceFp16(bits: number): number {
  const x = f32OfBits(bits);
  if (Number.isNaN(x)) return -1;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65536) return sign | 0x7c00;
  let lo = 0;
  let hi = HALF_VALUES.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if ((HALF_VALUES[mid] as number) <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - (HALF_VALUES[lo] as number);
  const dHi = (HALF_VALUES[hi] as number) - a;
  return sign | (dLo < dHi || (dLo === dHi && (lo & 1) === 0) ? lo : hi);
}

function sampleBits(): number[] {
  const out: number[] = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0x7f7fffff, 0x00000001, 0x807fffff];
  let s = 12345;
  const next = (): number => (s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x9e3779b9) >>> 0);
  for (let i = 0; i < 200_000; i++) out.push(next());
  // Every bf16 pattern with the low half at a tie, just below and just above it.
  for (let h = 0; h < 65536; h++) for (const low of [0x7fff, 0x8000, 0x8001, 0]) out.push(((h << 16) | low) >>> 0);
  // float16: every midpoint between neighbours (ties), a hair either side, over the whole range incl. subnormals.
  for (let h = 0; h < 0x7c00; h++) {
    const mid = bitsOfF32(((HALF_VALUES[h] as number) + (HALF_VALUES[h + 1] as number)) / 2);
    for (const b of [mid - 1, mid, mid + 1]) out.push(b >>> 0, (b | 0x80000000) >>> 0);
  }
  for (const x of [65504, 65519.99, 65520, 65536, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0001, 2 ** -14, 6.1e-5, 1e-8]) out.push(bitsOfF32(x), bitsOfF32(-x));
  return out;
}

test('bf16 and fp16 encoding rounds to nearest, ties to even, with NaN, ±Inf and subnormals (vs a float64 reference)', () => {
  const samples = sampleBits();
  let bfChecked = 0;
  let fpChecked = 0;
  for (const bits of samples) {
    const bf = bfloat16BitsOf(bits);
    const rb = referenceBf16(bits);
    if (rb < 0) assert.ok(Number.isNaN(f32OfBits(bf << 16)), `bf16 of NaN ${bits.toString(16)} is ${bf.toString(16)}`);
    else if (bf !== rb) assert.fail(`bf16 of ${bits.toString(16)} (${f32OfBits(bits)}): ${bf.toString(16)}, reference ${rb.toString(16)}`);
    bfChecked++;
    const fp = float16BitsOf(bits);
    const rf = referenceFp16(bits);
    if (rf < 0) assert.ok((fp & 0x7c00) === 0x7c00 && (fp & 0x3ff) !== 0, `fp16 of NaN ${bits.toString(16)} is ${fp.toString(16)}`);
    else if (fp !== rf) assert.fail(`fp16 of ${bits.toString(16)} (${f32OfBits(bits)}): ${fp.toString(16)}, reference ${rf.toString(16)}`);
    fpChecked++;
  }
  console.log(`half-float: ${bfChecked} bf16 and ${fpChecked} fp16 conversions equal the reference`);
});

test('fp16 decoding: every pattern matches its bits built by hand, and re-encodes to itself', () => {
  const table = float16Table32();
  for (let h = 0; h < 65536; h++) {
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    const sign = (h & 0x8000) << 16;
    const value = table[h] as number;
    if (e === 31 && m !== 0) {
      assert.ok(Number.isNaN(value));
      continue;
    }
    if (e !== 0) {
      const bits = e === 31 ? sign | 0x7f800000 : sign | ((e - 15 + 127) << 23) | (m << 13);
      assert.equal(bitsOfF32(value), bits >>> 0, `pattern ${h.toString(16)}`);
    } else assert.equal(value, (sign ? -1 : 1) * m * 2 ** -24, `subnormal ${h.toString(16)}`);
    assert.equal(float16BitsOf(bitsOfF32(value)), h, `round trip of ${h.toString(16)}`);
  }
});

test('encodeHalves/decodeHalves: the sender keeps what the receiver decodes; errors within the unit roundoff (2^-8, 2^-11)', () => {
  const n = 100_000;
  const src = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 9) - 4));
  for (const [format, halfUlp] of [['bfloat16', 2 ** -8], ['float16', 2 ** -11]] as const) {
    const sent = src.slice();
    const bytes = new Uint8Array(2 * n + 1).subarray(1); // odd offset: decoding takes any alignment
    encodeHalves(format, sent, bytes);
    const received = new Float32Array(n);
    decodeHalves(format, bytes, received);
    assert.deepEqual(received, sent);
    let maxRel = 0;
    for (let i = 0; i < n; i++) {
      const x = src[i] as number;
      // Zero, and float16 subnormals (absolute, not relative, spacing) are checked exactly above.
      if (x === 0 || (format === 'float16' && Math.abs(x) < 2 ** -14)) continue;
      maxRel = Math.max(maxRel, Math.abs((received[i] as number) - x) / Math.abs(x));
    }
    console.log(`${format}: max relative round-trip error ${maxRel.toExponential(3)} (bound ${halfUlp.toExponential(3)})`);
    assert.ok(maxRel <= halfUlp, `${format} max relative error ${maxRel}`);
  }
});
