import { ArrayDataset } from './array-dataset.js';
import { loadCsvDatasets, parseCsvSpec } from './csv-dataset.js';
import type { Dataset } from './dataset.js';
import { DataError } from './errors.js';
import { loadImageFolderDatasets, parseImagesSpec } from './image-folder-dataset.js';
import { loadMnist } from './mnist.js';
import { IndexViewDataset } from './index-view-dataset.js';
import { loadNpyDataset } from './npy-dataset.js';
import { NpyFileDataset } from './npy-file-dataset.js';
import type { NpyDatasetOptions } from './npy-samples.js';
import { readNpyHeader } from './npy.js';
import { hashSeeds, mulberry32 } from './random.js';
import { syntheticDataset } from './synthetic.js';

const SYNTHETIC_TRAIN = 2048;
const SYNTHETIC_TEST = 512;

/**
 * An `npy:` images file whose samples take more than this many bytes as float32 (what
 * loading it would hold in memory, 4x a uint8 file) is streamed from disk instead
 * (NpyFileDataset): 1 GiB, beyond which a worker's rank threads, the shared copy and the
 * parsed file would crowd a typical machine, while below it in-memory batches are cheaper.
 */
export const NPY_STREAM_BYTES = 1024 ** 3;

/**
 * TESTS ONLY: overrides NPY_STREAM_BYTES (a byte count; 0 streams every `npy:` file), so a
 * test can take the streaming path with a small file. Never set it outside tests.
 */
export const NPY_STREAM_BYTES_ENV = 'TFJS_DDP_TEST_NPY_STREAM_BYTES';

/** Share of the samples held out for validation when a data set names no test files. */
export const VALIDATION_SHARE = 0.1;

/** The data sets a job can name on the command line. */
export const DATASET_SPECS = [
  'mnist',
  'synthetic',
  'npy:<images.npy>,<labels.npy>',
  'csv:<train.csv>[,<test.csv>][#column=<label>]',
  'images:<dir>[,<testdir>]',
] as const;

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

/** What the held-out samples of `spec` are, for the log line that reports accuracy on them. */
export function heldOutOf(spec: string): string {
  if (spec === 'mnist') return 'the MNIST test split';
  if (spec === 'synthetic') return 'the synthetic test split';
  if (spec.startsWith('npy:') && spec.split(',').length === 4) return 'the test files';
  if (spec.startsWith('csv:') && parsesTo(() => parseCsvSpec(spec).test !== undefined)) return 'the test file';
  if (spec.startsWith('images:') && parsesTo(() => parseImagesSpec(spec).test !== undefined)) return 'the test folder';
  return `a seeded ${Math.round(VALIDATION_SHARE * 100)} % validation split of the training files`;
}

/** Whether `check` holds; a spec that does not parse is reported by openDataset, not by a log line. */
function parsesTo(check: () => boolean): boolean {
  try {
    return check();
  } catch (error) {
    if (error instanceof DataError) return false;
    throw error;
  }
}

/**
 * Holds out a seeded VALIDATION_SHARE of `all` (at least one sample, and at least one left
 * to train on): the same samples on every machine for the same seed, so the workers'
 * fingerprints of the training part agree. Both parts keep the original order. They are
 * views of `all`, not copies: the parts of a data set streamed from disk stay on disk.
 */
export function validationSplit(all: Dataset, seed: number): DatasetPair {
  if (all.size < 2) throw new DataError('DATA_ERR_TOO_SMALL', `${all.name}: ${all.size} sample(s) cannot be split into training and validation`);
  const held = Math.min(all.size - 1, Math.max(1, Math.round(all.size * VALIDATION_SHARE)));
  // A seeded partial Fisher-Yates: the first `held` places of the permutation are held out.
  const order = Int32Array.from({ length: all.size }, (_, i) => i);
  const random = mulberry32(hashSeeds(seed, 0x7a11d));
  for (let i = 0; i < held; i++) {
    const j = i + Math.floor(random() * (all.size - i));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const heldOut = order.subarray(0, held).sort();
  const trained = order.subarray(held).sort();
  const percent = Math.round(VALIDATION_SHARE * 100);
  return {
    train: new IndexViewDataset(`${all.name} (${100 - percent} % for training)`, all, trained),
    test: new IndexViewDataset(`${all.name} (${percent} % validation split, seed ${seed})`, all, heldOut),
  };
}

/** The samples of `all` at `indices`, in that order, as a data set of their own. */
function subset(all: Dataset, indices: Int32Array, name: string): ArrayDataset {
  const b = all.batch(indices);
  return new ArrayDataset({ name, x: b.x, y: b.y, inputShape: all.inputShape, numClasses: all.numClasses });
}

/** Whether `images` is streamed from disk rather than loaded (see NPY_STREAM_BYTES). */
export function streamsNpy(images: string): boolean {
  const override = process.env[NPY_STREAM_BYTES_ENV];
  const threshold = override === undefined || override === '' ? NPY_STREAM_BYTES : Number(override);
  if (!Number.isFinite(threshold) || threshold < 0) {
    throw new DataError('DATA_ERR_ARGUMENT', `${NPY_STREAM_BYTES_ENV}=${override} is not a byte count`);
  }
  const header = readNpyHeader(images);
  return 4 * header.shape.reduce((a, b) => a * b, 1) > threshold;
}

/** One pair of `.npy` files, in memory or streamed from disk by their size. */
function openNpyPair(options: NpyDatasetOptions): Dataset {
  return streamsNpy(options.images) ? NpyFileDataset.open(options) : loadNpyDataset(options);
}

/** `npy:images,labels[,test-images,test-labels]`: the training files, and the test files if named. */
function loadNpyFiles(spec: string): { train: Dataset; test?: Dataset } {
  const files = spec.slice(4).split(',');
  if (files.length !== 2 && files.length !== 4) {
    throw new DataError('DATA_ERR_UNKNOWN_DATASET', `dataset "${spec}": npy: takes 2 or 4 comma-separated .npy files`);
  }
  const [images, labels, testImages, testLabels] = files as [string, string, string?, string?];
  const train = openNpyPair({ images, labels });
  if (testImages === undefined || testLabels === undefined) return { train };
  return { train, test: openNpyPair({ images: testImages, labels: testLabels, numClasses: train.numClasses }) };
}

/**
 * Opens a data set by its command-line name: `mnist` (bundled), `synthetic` (seeded,
 * learnable; the test split is other samples of the same classes) or
 * `npy:train-images.npy,train-labels.npy[,test-images.npy,test-labels.npy]` (without
 * test files, a seeded validation split of the training files is held out),
 * `csv:train.csv[,test.csv][#column=NAME]` (see loadCsvDatasets) or
 * `images:dir[,testdir]` (one sub-folder per class, see loadImageFolderDatasets); these
 * too hold out a validation split when they name no test file or folder.
 */
export function openDataset(spec: string, seed = 1): DatasetPair {
  if (spec === 'mnist') return { train: loadMnist('train'), test: loadMnist('test') };
  if (spec === 'synthetic') {
    // One seeded draw; its tail (same class templates, other noise) is never trained on.
    const all = syntheticDataset({ size: SYNTHETIC_TRAIN + SYNTHETIC_TEST, seed });
    const range = (start: number, count: number): Int32Array => Int32Array.from({ length: count }, (_, i) => start + i);
    return {
      train: subset(all, range(0, SYNTHETIC_TRAIN), `synthetic-${seed}-train`),
      test: subset(all, range(SYNTHETIC_TRAIN, SYNTHETIC_TEST), `synthetic-${seed}-test`),
    };
  }
  const files = spec.startsWith('npy:') ? loadNpyFiles(spec)
    : spec.startsWith('csv:') ? loadCsvDatasets(parseCsvSpec(spec))
    : spec.startsWith('images:') ? loadImageFolderDatasets(parseImagesSpec(spec))
    : undefined;
  // No test files: the reported accuracy must still be on samples never trained on.
  if (files !== undefined) return files.test === undefined ? validationSplit(files.train, seed) : { train: files.train, test: files.test };
  throw new DataError('DATA_ERR_UNKNOWN_DATASET', `unknown dataset "${spec}"; allowed: ${DATASET_SPECS.join(', ')}`);
}
