import { ArrayDataset } from './array-dataset.js';
import { DataError } from './errors.js';
import { readNpy } from './npy.js';

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

/** A classification data set from a pair of `.npy` files, with errors naming the file at fault. */
export function loadNpyDataset(options: NpyDatasetOptions): ArrayDataset {
  const images = readNpy(options.images);
  const labels = readNpy(options.labels);
  if (images.shape.length < 2 || images.shape.length > 4) {
    throw new DataError(
      'DATA_ERR_SHAPE',
      `${options.images}: images must have shape [N, D], [N, H, W] or [N, H, W, C]; got [${images.shape.join(', ')}]`,
    );
  }
  if (labels.shape.length !== 1) {
    throw new DataError('DATA_ERR_SHAPE', `${options.labels}: labels must have shape [N]; got [${labels.shape.join(', ')}]`);
  }
  if (!(labels.data instanceof Int32Array || labels.data instanceof Uint8Array || labels.data instanceof BigInt64Array)) {
    throw new DataError('DATA_ERR_NPY_DTYPE', `${options.labels}: labels must be integers; got dtype ${labels.dtype}`);
  }
  const n = images.shape[0] as number;
  if (labels.shape[0] !== n) {
    throw new DataError(
      'DATA_ERR_LENGTH_MISMATCH',
      `${options.images} has ${n} samples but ${options.labels} has ${labels.shape[0]} labels`,
    );
  }
  const inputShape = images.shape.length === 3 ? [...images.shape.slice(1), 1] : images.shape.slice(1);
  const scale = options.scale ?? (images.data instanceof Uint8Array ? 1 / 255 : 1);
  const x = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = Number(images.data[i]) * scale;
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
  const numClasses = options.numClasses ?? Math.max(2, maxLabel + 1);
  return new ArrayDataset({ name: `npy:${options.images}`, x, y, inputShape, numClasses });
}
