import { ArrayDataset } from './array-dataset.js';
import type { Batch, Dataset } from './dataset.js';
import { IndexViewDataset } from './index-view-dataset.js';
import { NpyFileDataset, type NpyFileSource } from './npy-file-dataset.js';

/**
 * How the rank threads of one process reach one data set without loading their own.
 * Plain data: it crosses `postMessage`.
 * - `arrays`: every sample copied once into SharedArrayBuffers that all threads read.
 * - `npy-file`: a data set streamed from disk (NpyFileDataset); each thread reopens the
 *   file by its path and reads rows itself, so nothing the size of the file is copied.
 *   Labels are shared; `view` selects samples of the file (a validation split's part).
 */
export type SharedDatasetHandle =
  | { kind: 'arrays'; name: string; x: SharedArrayBuffer; y: SharedArrayBuffer; inputShape: number[]; numClasses: number }
  | { kind: 'npy-file'; source: NpyFileSource; labels: SharedArrayBuffer; view?: { name: string; indices: SharedArrayBuffer } };

function sharedInt32(values: Int32Array): SharedArrayBuffer {
  const shared = new SharedArrayBuffer(values.byteLength);
  new Int32Array(shared).set(values);
  return shared;
}

/** A handle to `dataset` for other threads: by path when it is streamed from disk, else a shared copy of every sample. */
export function shareDataset(dataset: Dataset): SharedDatasetHandle {
  if (dataset instanceof NpyFileDataset) return { kind: 'npy-file', source: dataset.source, labels: sharedInt32(dataset.labels) };
  if (dataset instanceof IndexViewDataset && dataset.base instanceof NpyFileDataset) {
    const { source, labels } = dataset.base;
    return { kind: 'npy-file', source, labels: sharedInt32(labels), view: { name: dataset.name, indices: sharedInt32(dataset.indices) } };
  }
  const all: Batch = dataset.batch(Int32Array.from({ length: dataset.size }, (_, i) => i));
  const x = new SharedArrayBuffer(all.x.byteLength);
  new Float32Array(x).set(all.x);
  return { kind: 'arrays', name: dataset.name, x, y: sharedInt32(all.y), inputShape: [...dataset.inputShape], numClasses: dataset.numClasses };
}

/** The data set behind a handle made by `shareDataset` (in any thread), without copying its samples. */
export function openSharedDataset(handle: SharedDatasetHandle): Dataset {
  if (handle.kind === 'arrays') {
    return new ArrayDataset({
      name: handle.name,
      x: new Float32Array(handle.x),
      y: new Int32Array(handle.y),
      inputShape: handle.inputShape,
      numClasses: handle.numClasses,
    });
  }
  const file = new NpyFileDataset(handle.source, new Int32Array(handle.labels));
  return handle.view === undefined ? file : new IndexViewDataset(handle.view.name, file, new Int32Array(handle.view.indices));
}
