/**
 * An order-independent digest of a set of sample indices, so a rank can say which samples
 * it trained in a few bytes and the coordinator can check that the ranks' shards of a step
 * are disjoint and together make up the step's global batch (DESIGN.md §6: exactly once is
 * checked against what the ranks report, not against the schedule).
 *
 * digest(S) = sum over i in S of mix(i), modulo 2^52. A sum (not a XOR) so that an index
 * counted twice changes the digest; mod 2^52 so every intermediate sum stays an exact
 * integer in a float64 (a wire number). `mix` is a 52-bit hash built from two rounds of
 * the murmur3 32-bit finalizer, so a swapped, duplicated or missing index changes the
 * digest except with probability about 2^-52 per comparison. It is a check against bugs
 * and faults, not a cryptographic proof: a hostile rank can forge it (it can also send
 * any gradients it likes; the token is what keeps it out).
 */

/** Digests are integers in [0, DIGEST_MODULUS). */
export const DIGEST_MODULUS = 2 ** 52;
const HIGH = 2 ** 20;
const LOW = 2 ** 32;

/** The murmur3 32-bit finalizer: a bijection on 32-bit integers with full avalanche. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A 52-bit hash of one sample index (an integer in [0, 2^31)). */
export function mixIndex(index: number): number {
  const low = fmix32(index ^ 0x9e3779b9);
  const high = fmix32(low ^ 0x7f4a7c15 ^ index) % HIGH;
  return high * LOW + low;
}

/** Adds two digests (the digest of the union of two disjoint index sets). */
export function combineDigests(a: number, b: number): number {
  const sum = a + b;
  return sum >= DIGEST_MODULUS ? sum - DIGEST_MODULUS : sum;
}

/** The digest of `indices` (order does not matter; a repeated index counts twice). */
export function sampleDigest(indices: ArrayLike<number>): number {
  let digest = 0;
  for (let i = 0; i < indices.length; i++) digest = combineDigests(digest, mixIndex(indices[i] as number));
  return digest;
}
