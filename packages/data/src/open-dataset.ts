import { ArrayDataset } from './array-dataset.js';
import type { Dataset } from './dataset.js';
import { DataError } from './errors.js';
import { loadMnist } from './mnist.js';
import { loadNpyDataset } from './npy-dataset.js';
import { syntheticDataset } from './synthetic.js';

const SYNTHETIC_TRAIN = 2048;
const SYNTHETIC_TEST = 512;

/** The data sets a job can name on the command line. */
export const DATASET_SPECS = ['mnist', 'synthetic', 'npy:<images.npy>,<labels.npy>'] as const;

/** Data sets that ship with tfjs-ddp (or are generated): naming one reads no file of the user's. */
export const BUNDLED_DATASETS: readonly string[] = ['mnist', 'synthetic'];

/** Whether `spec` names a bundled data set, not files: a worker opens it whoever names it. */
export function isBundledDataset(spec: string): boolean {
  return BUNDLED_DATASETS.includes(spec);
}

export interface DatasetPair {
  train: Dataset;
  /** Held-out samples for the final accuracy. */
  test: Dataset;
}

/**
 * Opens a data set by its command-line name: `mnist` (bundled), `synthetic` (seeded,
 * learnable; the test split is other samples of the same classes) or
 * `npy:train-images.npy,train-labels.npy[,test-images.npy,test-labels.npy]`.
 */
export function openDataset(spec: string, seed = 1): DatasetPair {
  if (spec === 'mnist') return { train: loadMnist('train'), test: loadMnist('test') };
  if (spec === 'synthetic') {
    // One seeded draw; its tail (same class templates, other noise) is never trained on.
    const all = syntheticDataset({ size: SYNTHETIC_TRAIN + SYNTHETIC_TEST, seed });
    const part = (start: number, count: number, name: string): ArrayDataset => {
      const b = all.batch(Int32Array.from({ length: count }, (_, i) => start + i));
      return new ArrayDataset({ name, x: b.x, y: b.y, inputShape: all.inputShape, numClasses: all.numClasses });
    };
    return {
      train: part(0, SYNTHETIC_TRAIN, `synthetic-${seed}-train`),
      test: part(SYNTHETIC_TRAIN, SYNTHETIC_TEST, `synthetic-${seed}-test`),
    };
  }
  if (spec.startsWith('npy:')) {
    const files = spec.slice(4).split(',');
    if (files.length !== 2 && files.length !== 4) {
      throw new DataError('DATA_ERR_UNKNOWN_DATASET', `dataset "${spec}": npy: takes 2 or 4 comma-separated .npy files`);
    }
    const [images, labels, testImages, testLabels] = files as [string, string, string?, string?];
    const train = loadNpyDataset({ images, labels });
    const test =
      testImages !== undefined && testLabels !== undefined
        ? loadNpyDataset({ images: testImages, labels: testLabels, numClasses: train.numClasses })
        : train;
    return { train, test };
  }
  throw new DataError('DATA_ERR_UNKNOWN_DATASET', `unknown dataset "${spec}"; allowed: ${DATASET_SPECS.join(', ')}`);
}
