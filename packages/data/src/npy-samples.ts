import { DataError } from './errors.js';
import type { NpyRawValues } from './npy.js';
import { readNpy } from './npy.js';

/**
 * How a pair of `.npy` files becomes samples, shared by the loader that reads them whole
 * (npy-dataset.ts) and the one that reads rows on demand (npy-file-dataset.ts), so the
 * two give bit-identical batches and fingerprints for the same files.
 */

export interface NpyDatasetOptions {
  /** `.npy` of images: [N, H, W] (one channel), [N, H, W, C] or [N, D]. */
  images: string;
  /** `.npy` of integer class labels: [N]. */
  labels: string;
  /** Number of classes. Default: largest label + 1. */
  numClasses?: number;
  /** Multiply every input value by this (e.g. 1/255 for uint8 images). Default: 1/255 for uint8, else 1. */
  scale?: number;
}

/** The shape of one sample for an images array of `shape` ([N, H, W] gains one channel). */
export function npyInputShape(file: string, shape: readonly number[]): number[] {
  if (shape.length < 2 || shape.length > 4) {
    throw new DataError('DATA_ERR_SHAPE', `${file}: images must have shape [N, D], [N, H, W] or [N, H, W, C]; got [${shape.join(', ')}]`);
  }
  return shape.length === 3 ? [...shape.slice(1), 1] : shape.slice(1);
}

/** The factor every input value is multiplied by: uint8 images become [0, 1]. */
export function npyScale(descr: string, scale: number | undefined): number {
  return scale ?? (descr === '|u1' || descr === '<u1' ? 1 / 255 : 1);
}

/**
 * Writes `count` values of `raw` from `from` on into `x` at `at`, as float32. The product
 * is taken in double precision and rounded once, whichever loader calls it.
 */
export function toFloat32(raw: NpyRawValues, from: number, x: Float32Array, at: number, count: number, scale: number): void {
  for (let k = 0; k < count; k++) x[at + k] = Number(raw[from + k]) * scale;
}

/** The name both loaders give a data set of `images`, so logs and fingerprints read alike. */
export function npyDatasetName(images: string): string {
  return `npy:${images}`;
}

/** Reads and checks the labels of `n` samples; the class count is the option's, else the largest label + 1 (at least 2). */
export function readNpyLabels(options: NpyDatasetOptions, n: number): { y: Int32Array; numClasses: number } {
  const labels = readNpy(options.labels);
  if (labels.shape.length !== 1) {
    throw new DataError('DATA_ERR_SHAPE', `${options.labels}: labels must have shape [N]; got [${labels.shape.join(', ')}]`);
  }
  if (!(labels.data instanceof Int32Array || labels.data instanceof Uint8Array || labels.data instanceof BigInt64Array)) {
    throw new DataError('DATA_ERR_NPY_DTYPE', `${options.labels}: labels must be integers; got dtype ${labels.dtype}`);
  }
  if (labels.shape[0] !== n) {
    throw new DataError('DATA_ERR_LENGTH_MISMATCH', `${options.images} has ${n} samples but ${options.labels} has ${labels.shape[0]} labels`);
  }
  const y = new Int32Array(n);
  let maxLabel = 0;
  for (let i = 0; i < n; i++) {
    const label = Number(labels.data[i]);
    if (label < 0 || !Number.isSafeInteger(label)) {
      throw new DataError('DATA_ERR_LABEL', `${options.labels}: label ${label} of sample ${i} is negative`);
    }
    y[i] = label;
    maxLabel = Math.max(maxLabel, label);
  }
  return { y, numClasses: options.numClasses ?? Math.max(2, maxLabel + 1) };
}
