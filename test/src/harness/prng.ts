/**
 * A small seeded PRNG (mulberry32) for the fuzz tests: the same seed gives the same
 * frames, so a failure is reproduced by re-running with the seed it printed
 * (TFJS_DDP_FUZZ_SEED). Not for anything that needs real randomness.
 */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const word = (this.next() * 4294967296) >>> 0;
      for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (word >>> (8 * k)) & 0xff;
    }
    return out;
  }

  /** A u32 for a length prefix: mostly near the interesting edges, sometimes anything. */
  u32(): number {
    return this.pick([0, 1, 7, 8, 0xff, 0x4000, 0x4001, 0x10000000, 0x10000001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, this.int(0x100000000)]);
  }
}

/** The seed of this run: TFJS_DDP_FUZZ_SEED if set, else `fallback` (tests are reproducible by default). */
export function fuzzSeed(fallback: number): number {
  const raw = process.env['TFJS_DDP_FUZZ_SEED'];
  if (raw === undefined || raw === '') return fallback;
  const seed = Number(raw);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`TFJS_DDP_FUZZ_SEED must be a u32, got ${raw}`);
  return seed;
}
