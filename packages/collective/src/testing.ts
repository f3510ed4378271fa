/**
 * Helpers shared by this package's tests (not exported): deterministic inputs, a float64
 * reference, and bit-for-bit comparison.
 */
import assert from 'node:assert/strict';

/** Sizes that catch boundary mistakes: empty, tiny, primes, not divisible by P. */
export const AWKWARD_SIZES = [0, 1, 2, 3, 5, 7, 13, 31, 97, 1000, 4099, 65537];

/** Bucket sizes of the started-all-reduce scenarios: a gradient buffer of their sum, reduced from its end. */
export const STARTED_BUCKETS = [1, 4099, 97, 65537, 7];
export const STARTED_OPS = ['sum', 'mean', 'max'] as const;

/** Deterministic values for (rank, length, salt), spread over signs and magnitudes. */
export function inputFor(rank: number, length: number, salt = 0): Float32Array {
  const out = new Float32Array(length);
  let x = (rank + 1) * 2654435761 + salt * 40503 + length;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x ^ (x >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
    out[i] = ((x / 4294967296) * 2 - 1) * (1 + (i % 7));
  }
  return out;
}

export function reference(inputs: Float32Array[], op: 'sum' | 'mean' | 'max'): Float64Array {
  const n = inputs[0]?.length ?? 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let acc = op === 'max' ? -Infinity : 0;
    for (const input of inputs) acc = op === 'max' ? Math.max(acc, input[i] as number) : acc + (input[i] as number);
    out[i] = op === 'mean' ? acc / inputs.length : acc;
  }
  return out;
}

export function assertClose(actual: Float32Array, expected: Float64Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i] as number;
    const a = actual[i] as number;
    if (!(Math.abs(a - e) <= 1e-5 * Math.max(1, Math.abs(e)))) assert.fail(`${what}: element ${i} is ${a}, expected ${e}`);
  }
}

/** Every rank's result has the same bits as rank 0's. */
export function assertBitIdentical(results: Float32Array[], what: string): void {
  const first = results[0];
  if (!first) return;
  const bits0 = new Uint32Array(first.buffer, first.byteOffset, first.length);
  results.forEach((r, rank) => {
    const bits = new Uint32Array(r.buffer, r.byteOffset, r.length);
    assert.equal(bits.length, bits0.length);
    for (let i = 0; i < bits.length; i++) {
      if (bits[i] !== bits0[i]) assert.fail(`${what}: rank ${rank} element ${i} bits differ from rank 0`);
    }
  });
}

/** The `code` of what `promise` rejects with (fails the test if it resolves). */
export async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code ?? `no code: ${String(err)}`;
  }
  return 'resolved';
}

/** The `code` of what `fn` throws: 'no error' when it returns, 'no code' for an error without one. */
export function codeOf(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? 'no code';
  }
  return 'no error';
}
