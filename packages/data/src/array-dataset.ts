import type { Batch, Dataset } from './dataset.js';
import { DataError } from './errors.js';
import { FingerprintHash } from './fingerprint.js';

export interface ArrayDatasetOptions {
  name: string;
  /** All samples, [size, ...inputShape] flattened. */
  x: Float32Array;
  /** The class of each sample, in [0, numClasses). */
  y: Int32Array;
  inputShape: readonly number[];
  numClasses: number;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A data set of samples already in typed arrays; checks that they are consistent. */
export class ArrayDataset implements Dataset {
  readonly name: string;
  readonly size: number;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  private readonly x: Float32Array;
  private readonly y: Int32Array;
  private readonly sampleSize: number;
  private cachedFingerprint: string | undefined;

  constructor(options: ArrayDatasetOptions) {
    const { name, x, y, inputShape, numClasses } = options;
    if (inputShape.length === 0 || inputShape.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new DataError('DATA_ERR_SHAPE', `${name}: input shape [${inputShape.join(', ')}] must be positive integers`);
    }
    if (!Number.isInteger(numClasses) || numClasses < 2) {
      throw new DataError('DATA_ERR_ARGUMENT', `${name}: numClasses must be an integer >= 2, got ${numClasses}`);
    }
    const sampleSize = product(inputShape);
    if (x.length % sampleSize !== 0) {
      throw new DataError(
        'DATA_ERR_SHAPE',
        `${name}: ${x.length} input values are not a whole number of samples of shape [${inputShape.join(', ')}]`,
      );
    }
    const size = x.length / sampleSize;
    if (size !== y.length) {
      throw new DataError('DATA_ERR_LENGTH_MISMATCH', `${name}: ${size} samples but ${y.length} labels`);
    }
    for (let i = 0; i < y.length; i++) {
      const label = y[i] as number;
      if (label < 0 || label >= numClasses) {
        throw new DataError('DATA_ERR_LABEL', `${name}: label ${label} of sample ${i} is outside [0, ${numClasses})`);
      }
    }
    this.name = name;
    this.x = x;
    this.y = y;
    this.size = size;
    this.inputShape = [...inputShape];
    this.numClasses = numClasses;
    this.sampleSize = sampleSize;
  }

  batch(indices: ArrayLike<number>): Batch {
    const count = indices.length;
    const x = new Float32Array(count * this.sampleSize);
    const y = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const index = indices[i] as number;
      if (!Number.isInteger(index) || index < 0 || index >= this.size) {
        throw new DataError('DATA_ERR_INDEX', `${this.name}: sample index ${index} is outside [0, ${this.size})`);
      }
      x.set(this.x.subarray(index * this.sampleSize, (index + 1) * this.sampleSize), i * this.sampleSize);
      y[i] = this.y[index] as number;
    }
    return { x, y, count };
  }

  fingerprint(): string {
    if (this.cachedFingerprint === undefined) {
      this.cachedFingerprint = new FingerprintHash(this).samples(this.x).labels(this.y);
    }
    return this.cachedFingerprint;
  }
}
