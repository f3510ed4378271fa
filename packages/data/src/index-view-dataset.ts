import type { Batch, Dataset } from './dataset.js';
import { DataError } from './errors.js';
import { streamedFingerprint } from './fingerprint.js';

/**
 * Some samples of a base data set, named by their indices there, without copying them:
 * a validation split of a data set streamed from disk stays on disk. Its batches and
 * fingerprint are those of a copy of the same samples in the same order.
 */
export class IndexViewDataset implements Dataset {
  readonly size: number;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  private cachedFingerprint: string | undefined;

  /** `indices` (into `base`, any order, kept not copied) become samples 0..indices.length-1 here. */
  constructor(readonly name: string, readonly base: Dataset, readonly indices: Int32Array) {
    for (const index of indices) {
      if (index < 0 || index >= base.size) throw new DataError('DATA_ERR_INDEX', `${name}: index ${index} is outside ${base.name}'s [0, ${base.size})`);
    }
    this.size = indices.length;
    this.inputShape = base.inputShape;
    this.numClasses = base.numClasses;
  }

  batch(indices: ArrayLike<number>): Batch {
    const inBase = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i] as number;
      if (!Number.isInteger(index) || index < 0 || index >= this.size) {
        throw new DataError('DATA_ERR_INDEX', `${this.name}: sample index ${index} is outside [0, ${this.size})`);
      }
      inBase[i] = this.indices[index] as number;
    }
    return this.base.batch(inBase);
  }

  fingerprint(): string {
    this.cachedFingerprint ??= streamedFingerprint(this);
    return this.cachedFingerprint;
  }
}
