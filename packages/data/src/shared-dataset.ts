import { ArrayDataset } from './array-dataset.js';
import type { Batch, Dataset } from './dataset.js';

/**
 * A data set's arrays in SharedArrayBuffers, so the rank threads of one process read
 * one copy instead of loading their own. Plain data: it crosses `postMessage`.
 */
export interface SharedDatasetHandle {
  name: string;
  x: SharedArrayBuffer;
  y: SharedArrayBuffer;
  inputShape: number[];
  numClasses: number;
}

/** Copies every sample of `dataset` into shared memory. */
export function shareDataset(dataset: Dataset): SharedDatasetHandle {
  const all: Batch = dataset.batch(Int32Array.from({ length: dataset.size }, (_, i) => i));
  const x = new SharedArrayBuffer(all.x.byteLength);
  new Float32Array(x).set(all.x);
  const y = new SharedArrayBuffer(all.y.byteLength);
  new Int32Array(y).set(all.y);
  return { name: dataset.name, x, y, inputShape: [...dataset.inputShape], numClasses: dataset.numClasses };
}

/** The data set behind a handle made by `shareDataset` (in any thread), without copying. */
export function openSharedDataset(handle: SharedDatasetHandle): ArrayDataset {
  return new ArrayDataset({
    name: handle.name,
    x: new Float32Array(handle.x),
    y: new Int32Array(handle.y),
    inputShape: handle.inputShape,
    numClasses: handle.numClasses,
  });
}
