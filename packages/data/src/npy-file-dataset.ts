import { closeSync, openSync, statSync } from 'node:fs';
import type { Batch, Dataset } from './dataset.js';
import { DataError } from './errors.js';
import { streamedFingerprint } from './fingerprint.js';
import { npyDtype, readFully, readNpyHeader, type NpyDtype } from './npy.js';
import { npyDatasetName, npyInputShape, npyScale, readNpyLabels, toFloat32, type NpyDatasetOptions } from './npy-samples.js';

/** What a thread needs to reopen a streamed `.npy` data set by its path. Plain data: it crosses `postMessage`. */
export interface NpyFileSource {
  name: string;
  /** Path of the images file. */
  images: string;
  descr: string;
  /** Byte offset of sample 0's first value. */
  dataOffset: number;
  size: number;
  inputShape: number[];
  numClasses: number;
  scale: number;
}

/** Bytes one positional read asks for at most: bounds the scratch buffer a batch of adjacent rows is read into. */
export const MAX_READ_BYTES = 4 * 1024 * 1024;

/**
 * A `.npy` data set that reads the rows a batch asks for from disk, one positional read
 * per run of adjacent indices, so training data larger than memory can be used. Labels
 * (one int per sample) stay in memory. Batches and the fingerprint are bit-identical to
 * `loadNpyDataset`'s for the same files (both convert through npy-samples.ts).
 *
 * The file is opened per batch rather than held: `Dataset` has no close(), and data sets
 * are opened by every rank thread of every job in a long-lived worker process, so a held
 * descriptor would leak until the garbage collector (never) closes it. An open costs
 * microseconds next to a batch's reads.
 */
export class NpyFileDataset implements Dataset {
  readonly name: string;
  readonly size: number;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  private readonly dtype: NpyDtype;
  private readonly sampleSize: number;
  private readonly rowBytes: number;
  private scratch = new Uint8Array(0);
  private cachedFingerprint: string | undefined;

  /** Reads the header of `options.images` and the labels; checks that the file holds every sample its header declares. */
  static open(options: NpyDatasetOptions): NpyFileDataset {
    const header = readNpyHeader(options.images);
    const inputShape = npyInputShape(options.images, header.shape);
    const size = header.shape[0] as number;
    const { y, numClasses } = readNpyLabels(options, size);
    const source: NpyFileSource = {
      name: npyDatasetName(options.images),
      images: options.images,
      descr: header.descr,
      dataOffset: header.dataOffset,
      size,
      inputShape,
      numClasses,
      scale: npyScale(header.descr, options.scale),
    };
    return new NpyFileDataset(source, y);
  }

  /** Reopens a data set described by `source` (in any thread); `labels` may live in shared memory. */
  constructor(readonly source: NpyFileSource, readonly labels: Int32Array) {
    const { name, images, inputShape, numClasses, size } = source;
    this.dtype = npyDtype(images, source.descr);
    if (inputShape.length === 0 || inputShape.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new DataError('DATA_ERR_SHAPE', `${name}: input shape [${inputShape.join(', ')}] must be positive integers`);
    }
    if (!Number.isInteger(numClasses) || numClasses < 2) {
      throw new DataError('DATA_ERR_ARGUMENT', `${name}: numClasses must be an integer >= 2, got ${numClasses}`);
    }
    if (labels.length !== size) throw new DataError('DATA_ERR_LENGTH_MISMATCH', `${name}: ${size} samples but ${labels.length} labels`);
    for (let i = 0; i < size; i++) {
      const label = labels[i] as number;
      if (label < 0 || label >= numClasses) {
        throw new DataError('DATA_ERR_LABEL', `${name}: label ${label} of sample ${i} is outside [0, ${numClasses})`);
      }
    }
    this.name = name;
    this.size = size;
    this.inputShape = [...inputShape];
    this.numClasses = numClasses;
    this.sampleSize = inputShape.reduce((a, b) => a * b, 1);
    this.rowBytes = this.sampleSize * this.dtype.width;
    this.checkFileSize();
  }

  /** A file shorter than its header says fails here, when the data set opens, not at the step that first reads its tail. */
  private checkFileSize(): void {
    const { images, descr, dataOffset, size } = this.source;
    let fileBytes: number;
    try {
      fileBytes = statSync(images).size;
    } catch (cause) {
      throw new DataError('DATA_ERR_FILE', `${images}: cannot open (${(cause as Error).message})`, { cause });
    }
    const needed = dataOffset + size * this.rowBytes;
    if (fileBytes < needed) {
      throw new DataError(
        'DATA_ERR_NPY_FORMAT',
        `${images}: truncated: its header declares ${size} samples of [${this.inputShape.join(', ')}] ${descr} ` +
          `(${needed} bytes with the header) but the file has ${fileBytes} bytes`,
      );
    }
  }

  batch(indices: ArrayLike<number>): Batch {
    const count = indices.length;
    const x = new Float32Array(count * this.sampleSize);
    const y = new Int32Array(count);
    // Positions of the batch in file order, so adjacent rows are read together; each row still lands at its own position.
    const order = new Uint32Array(count);
    let sorted = true;
    for (let i = 0; i < count; i++) {
      const index = indices[i] as number;
      if (!Number.isInteger(index) || index < 0 || index >= this.size) {
        throw new DataError('DATA_ERR_INDEX', `${this.name}: sample index ${index} is outside [0, ${this.size})`);
      }
      y[i] = this.labels[index] as number;
      order[i] = i;
      if (i > 0 && index < (indices[i - 1] as number)) sorted = false;
    }
    if (!sorted) order.sort((a, b) => (indices[a] as number) - (indices[b] as number));
    const fd = this.openFile();
    try {
      const maxRows = Math.max(1, Math.floor(MAX_READ_BYTES / this.rowBytes));
      let r = 0;
      while (r < count) {
        const first = indices[order[r] as number] as number;
        let end = r + 1;
        // A run: the same or the next row, up to one read's worth (a repeated index is read once).
        while (end < count) {
          const previous = indices[order[end - 1] as number] as number;
          const next = indices[order[end] as number] as number;
          if ((next !== previous && next !== previous + 1) || next - first + 1 > maxRows) break;
          end++;
        }
        const rows = (indices[order[end - 1] as number] as number) - first + 1;
        const raw = this.dtype.view(this.readRows(fd, first, rows).buffer, 0, rows * this.sampleSize);
        for (let p = r; p < end; p++) {
          const at = order[p] as number;
          const row = (indices[at] as number) - first;
          toFloat32(raw, row * this.sampleSize, x, at * this.sampleSize, this.sampleSize, this.source.scale);
        }
        r = end;
      }
    } finally {
      closeSync(fd);
    }
    return { x, y, count };
  }

  fingerprint(): string {
    this.cachedFingerprint ??= streamedFingerprint(this);
    return this.cachedFingerprint;
  }

  private openFile(): number {
    try {
      return openSync(this.source.images, 'r');
    } catch (cause) {
      throw new DataError('DATA_ERR_FILE', `${this.source.images}: cannot open (${(cause as Error).message})`, { cause });
    }
  }

  /** Samples first..first+rows-1, raw, at the start of the scratch buffer (offset 0, so aligned for any dtype). */
  private readRows(fd: number, first: number, rows: number): Uint8Array {
    const bytes = rows * this.rowBytes;
    if (this.scratch.byteLength < bytes) this.scratch = new Uint8Array(Math.max(bytes, Math.min(2 * this.scratch.byteLength, MAX_READ_BYTES)));
    const into = this.scratch.subarray(0, bytes);
    const { images, dataOffset } = this.source;
    const samples = rows === 1 ? `sample ${first}` : `samples ${first}-${first + rows - 1}`;
    let got: number;
    try {
      got = readFully(fd, into, dataOffset + first * this.rowBytes);
    } catch (cause) {
      throw new DataError('DATA_ERR_FILE', `${images}: cannot read ${samples} (${(cause as Error).message})`, { cause });
    }
    if (got < bytes) {
      const missing = first + Math.floor(got / this.rowBytes);
      throw new DataError('DATA_ERR_FILE', `${images}: cannot read sample ${missing}: the file ends before it (was it truncated after it was opened?)`);
    }
    return this.scratch;
  }
}
