import { DataError } from './errors.js';
import { hashSeeds, mulberry32 } from './random.js';

export interface SamplerOptions {
  /** Number of samples in the data set. */
  size: number;
  /** Samples per global mini-batch (all ranks together). */
  globalBatch: number;
  /** Seed of the epoch permutations. */
  seed: number;
  /** Shuffle each epoch. Default true; false visits 0..size-1 in order. */
  shuffle?: boolean;
}

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new DataError('DATA_ERR_ARGUMENT', `${name} must be a positive integer, got ${value}`);
  }
}

/**
 * Seeded epoch order: every epoch is a permutation of the sample indices, cut into
 * global batches of `globalBatch` (the last one partial). A pure function of
 * (seed, epoch), so the coordinator and every rank agree without talking.
 */
export class EpochSampler {
  readonly size: number;
  readonly globalBatch: number;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly stepsPerEpoch: number;
  private cached: { epoch: number; order: Int32Array } | undefined;

  constructor(options: SamplerOptions) {
    checkPositiveInteger('size', options.size);
    checkPositiveInteger('globalBatch', options.globalBatch);
    this.size = options.size;
    this.globalBatch = options.globalBatch;
    this.seed = options.seed >>> 0;
    this.shuffle = options.shuffle ?? true;
    this.stepsPerEpoch = Math.ceil(this.size / this.globalBatch);
  }

  /** The order in which epoch `epoch` visits the samples. */
  permutation(epoch: number): Int32Array {
    if (this.cached?.epoch === epoch) return this.cached.order;
    const order = new Int32Array(this.size);
    for (let i = 0; i < this.size; i++) order[i] = i;
    if (this.shuffle) {
      const random = mulberry32(hashSeeds(this.seed, epoch));
      for (let i = this.size - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        const t = order[i] as number;
        order[i] = order[j] as number;
        order[j] = t;
      }
    }
    this.cached = { epoch, order };
    return order;
  }

  /** The sample indices of global batch `step` (0-based within the epoch). */
  batch(epoch: number, step: number): Int32Array {
    if (!Number.isInteger(step) || step < 0 || step >= this.stepsPerEpoch) {
      throw new DataError('DATA_ERR_ARGUMENT', `step ${step} is outside [0, ${this.stepsPerEpoch}) for this epoch`);
    }
    const start = step * this.globalBatch;
    return this.permutation(epoch).subarray(start, Math.min(start + this.globalBatch, this.size));
  }
}

/** Sizes of `parts` shards of `count` samples that differ by at most one, larger ones first. */
export function evenShardSizes(count: number, parts: number): number[] {
  checkPositiveInteger('parts', parts);
  const base = Math.floor(count / parts);
  const extra = count - base * parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * Sizes of shards of `count` samples in proportion to `weights` (e.g. measured samples/s),
 * summing exactly to `count` (largest remainder method). A weight of 0 gets no samples.
 */
export function proportionalShardSizes(count: number, weights: readonly number[]): number[] {
  if (weights.length === 0) throw new DataError('DATA_ERR_ARGUMENT', 'no weights given');
  if (weights.some((w) => !Number.isFinite(w) || w < 0)) {
    throw new DataError('DATA_ERR_ARGUMENT', `weights must be finite and >= 0: [${weights.join(', ')}]`);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) return evenShardSizes(count, weights.length);
  const exact = weights.map((w) => (count * w) / total);
  const sizes = exact.map(Math.floor);
  let missing = count - sizes.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (missing === 0) break;
    sizes[i] = (sizes[i] as number) + 1;
    missing--;
  }
  return sizes;
}

/** Cuts `indices` into consecutive shards of the given sizes (views, no copy). */
export function cutShards(indices: Int32Array, sizes: readonly number[]): Int32Array[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (sizes.some((s) => !Number.isInteger(s) || s < 0) || total !== indices.length) {
    throw new DataError(
      'DATA_ERR_ARGUMENT',
      `shard sizes [${sizes.join(', ')}] must be integers >= 0 summing to the batch size ${indices.length}`,
    );
  }
  const shards: Int32Array[] = [];
  let offset = 0;
  for (const size of sizes) {
    shards.push(indices.subarray(offset, offset + size));
    offset += size;
  }
  return shards;
}
