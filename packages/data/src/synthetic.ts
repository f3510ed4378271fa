import { ArrayDataset } from './array-dataset.js';
import { DataError } from './errors.js';
import { hashSeeds, mulberry32, normalFrom } from './random.js';

export interface SyntheticOptions {
  /** Number of samples. Default 1024. */
  size?: number;
  /** Shape of one sample. Default [8, 8, 1]. */
  inputShape?: readonly number[];
  /** Number of classes. Default 4. */
  numClasses?: number;
  /** Standard deviation of the noise around each class's template. Default 0.5. */
  noise?: number;
  /** Seed of the templates, labels and noise. Default 1. */
  seed?: number;
}

/**
 * A learnable, seeded data set: each class has a random template image and a sample is
 * its class's template plus Gaussian noise. The same options give the same bytes on
 * every machine.
 */
export function syntheticDataset(options: SyntheticOptions = {}): ArrayDataset {
  const { size = 1024, inputShape = [8, 8, 1], numClasses = 4, noise = 0.5, seed = 1 } = options;
  if (!Number.isInteger(size) || size < 1) {
    throw new DataError('DATA_ERR_ARGUMENT', `synthetic: size must be a positive integer, got ${size}`);
  }
  const sampleSize = inputShape.reduce((a, b) => a * b, 1);
  const templateNormal = normalFrom(mulberry32(hashSeeds(seed, 1)));
  const templates = Array.from({ length: numClasses }, () => Float32Array.from({ length: sampleSize }, templateNormal));
  const labelRandom = mulberry32(hashSeeds(seed, 2));
  const noiseNormal = normalFrom(mulberry32(hashSeeds(seed, 3)));
  const x = new Float32Array(size * sampleSize);
  const y = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const label = Math.floor(labelRandom() * numClasses);
    y[i] = label;
    const template = templates[label] as Float32Array;
    for (let j = 0; j < sampleSize; j++) {
      x[i * sampleSize + j] = (template[j] as number) + noise * noiseNormal();
    }
  }
  return new ArrayDataset({ name: `synthetic-${seed}`, x, y, inputShape, numClasses });
}
