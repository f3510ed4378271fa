/**
 * Small, fast, seedable integer hashing and random numbers. Every random choice in
 * tfjs-ddp that must agree across replicas (epoch order, dropout masks, synthetic data)
 * is a pure function of its seeds, so any rank can recompute it.
 */

/** A 32-bit avalanche hash of one 32-bit value (the finalizer of MurmurHash3). */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Combines several 32-bit integers into one well-mixed 32-bit seed. */
export function hashSeeds(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    h = mix32((h ^ mix32(v >>> 0)) + 0x7f4a7c15);
  }
  return h >>> 0;
}

/** mulberry32: a seeded generator of uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples from a uniform generator (Box-Muller). */
export function normalFrom(uniform: () => number): () => number {
  return () => {
    const u = 1 - uniform();
    const v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}
