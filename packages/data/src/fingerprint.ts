import { createHash } from 'node:crypto';
import type { Dataset } from './dataset.js';

/**
 * The one byte layout a data set's fingerprint hashes: a JSON line of its shape, class
 * count and size, every sample's float32 values in order, then every label as int32.
 * Held in memory or read from disk, the same samples give the same hex string, so a
 * worker and the coordinator can compare what they hold whichever way each opened it.
 */
export class FingerprintHash {
  private readonly hash = createHash('sha256');

  constructor(dataset: Pick<Dataset, 'inputShape' | 'numClasses' | 'size'>) {
    this.hash.update(JSON.stringify({ shape: dataset.inputShape, classes: dataset.numClasses, size: dataset.size }));
  }

  /** The next samples' values, in sample order. */
  samples(x: Float32Array): this {
    this.hash.update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    return this;
  }

  /** Every label, once all samples are in. */
  labels(y: Int32Array): string {
    this.hash.update(new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
    return this.hash.digest('hex');
  }
}

/** Bytes of samples hashed per batch by `streamedFingerprint`: memory stays bounded by this, not by the data set. */
export const FINGERPRINT_CHUNK_BYTES = 16 * 1024 * 1024;

/** The fingerprint of a data set too large to hold at once, read through `batch()` in bounded chunks. */
export function streamedFingerprint(dataset: Dataset): string {
  const hash = new FingerprintHash(dataset);
  const sampleBytes = 4 * dataset.inputShape.reduce((a, b) => a * b, 1);
  const perChunk = Math.max(1, Math.floor(FINGERPRINT_CHUNK_BYTES / sampleBytes));
  const y = new Int32Array(dataset.size);
  for (let start = 0; start < dataset.size; start += perChunk) {
    const count = Math.min(perChunk, dataset.size - start);
    const b = dataset.batch(Int32Array.from({ length: count }, (_, i) => start + i));
    hash.samples(b.x);
    y.set(b.y, start);
  }
  return hash.labels(y);
}
