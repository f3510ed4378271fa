import { ArrayDataset } from './array-dataset.js';
import { readNpy } from './npy.js';
import { npyDatasetName, npyInputShape, npyScale, readNpyLabels, toFloat32, type NpyDatasetOptions } from './npy-samples.js';

export type { NpyDatasetOptions } from './npy-samples.js';

/** A classification data set from a pair of `.npy` files read whole, with errors naming the file at fault. */
export function loadNpyDataset(options: NpyDatasetOptions): ArrayDataset {
  const images = readNpy(options.images);
  const inputShape = npyInputShape(options.images, images.shape);
  const n = images.shape[0] as number;
  const { y, numClasses } = readNpyLabels(options, n);
  const x = new Float32Array(images.data.length);
  toFloat32(images.data, 0, x, 0, x.length, npyScale(images.dtype, options.scale));
  return new ArrayDataset({ name: npyDatasetName(options.images), x, y, inputShape, numClasses });
}
