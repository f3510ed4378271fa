import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { ArrayDataset } from './array-dataset.js';
import { DataError } from './errors.js';
import { decodeImage } from './image-decode.js';
import type { DecodedImage } from './image-decode.js';

/** A larger image file is refused before it is read. */
export const MAX_IMAGE_BYTES = 32 * 1024 * 1024;
/** A folder with more image files than this (all classes together) is refused before any is read. */
export const MAX_IMAGE_FILES = 100_000;
/** At most this many input values (float32, 1 GiB) in one folder's data set. */
export const MAX_IMAGE_VALUES = 256 * 1024 * 1024;

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** What an `images:` spec names: `images:dir[,testdir]`. */
export interface ImagesSpec {
  train: string;
  test: string | undefined;
}

export function parseImagesSpec(spec: string): ImagesSpec {
  const dirs = (spec.startsWith('images:') ? spec.slice(7) : spec).split(',');
  if (dirs.length > 2 || dirs.some((d) => d === '')) {
    throw new DataError('DATA_ERR_UNKNOWN_DATASET', `dataset "${spec}": images: takes dir[,testdir]`);
  }
  return { train: dirs[0] as string, test: dirs[1] };
}

function statOf(file: string): Stats {
  try {
    return statSync(file);
  } catch (cause) {
    throw new DataError('DATA_ERR_FILE', `${file}: cannot read (${(cause as Error).message})`, { cause });
  }
}

/** Names in `dir` not starting with a dot, sorted by code unit: the same order on every machine and locale. */
function listed(dir: string): string[] {
  if (!statOf(dir).isDirectory()) throw new DataError('DATA_ERR_FILE', `${dir}: not a folder`);
  return readdirSync(dir).filter((name) => !name.startsWith('.')).sort();
}

/** The class folders of `dir` (sorted; a class's index is its place) and their image files, sorted. */
function listImageFolder(dir: string): { classes: string[]; files: { file: string; label: number }[] } {
  const classes = listed(dir).filter((name) => statOf(path.join(dir, name)).isDirectory());
  const files: { file: string; label: number }[] = [];
  classes.forEach((name, label) => {
    for (const entry of listed(path.join(dir, name))) {
      if (!IMAGE_EXTENSIONS.has(path.extname(entry).toLowerCase())) continue;
      files.push({ file: path.join(dir, name, entry), label });
      if (files.length > MAX_IMAGE_FILES) {
        throw new DataError('DATA_ERR_TOO_LARGE', `${dir}: more than ${MAX_IMAGE_FILES} image files; that is over the limit for an image folder`);
      }
    }
  });
  return { classes, files };
}

function readImage(file: string): DecodedImage {
  const size = statOf(file).size;
  if (size > MAX_IMAGE_BYTES) {
    throw new DataError('DATA_ERR_TOO_LARGE', `${file}: ${size} bytes is over the ${MAX_IMAGE_BYTES}-byte limit for an image file`);
  }
  return decodeImage(file, readFileSync(file));
}

/** What a test folder must match: the training folder's classes and image shape [H, W, C]. */
interface TrainingFolder {
  classes: readonly string[];
  inputShape: readonly number[];
}

/**
 * A classification data set from a folder with one sub-folder per class: the sorted
 * sub-folder names are the classes (index = place), their PNG and JPEG files the samples
 * (sorted by name; other files and dot-files are skipped). Every image must have the
 * same width and height; the set is grayscale (C = 1) when every image is, otherwise RGB
 * (gray images repeated over 3 channels; alpha dropped). Pixels are scaled to [0, 1].
 * A test folder (`training` given) must have the training folder's classes and shape.
 */
function readImageFolder(dir: string, training?: TrainingFolder): { dataset: ArrayDataset; classes: string[] } {
  const listing = listImageFolder(dir);
  if (training !== undefined && listing.classes.join('/') !== training.classes.join('/')) {
    throw new DataError(
      'DATA_ERR_SHAPE',
      `${dir}: its class folders (${listing.classes.join(', ').slice(0, 200)}) are not the training folder's (${training.classes.join(', ').slice(0, 200)})`,
    );
  }
  if (listing.classes.length < 2) {
    throw new DataError('DATA_ERR_TOO_SMALL', `${dir}: ${listing.classes.length} class folder(s); an image folder needs one sub-folder per class, at least 2`);
  }
  if (listing.files.length === 0) throw new DataError('DATA_ERR_TOO_SMALL', `${dir}: no .png, .jpg or .jpeg files in its class folders`);
  const [trainHeight, trainWidth, trainChannels] = training?.inputShape ?? [];
  const images: DecodedImage[] = [];
  let shape: { width: number; height: number; file: string } | undefined;
  for (const { file } of listing.files) {
    const image = readImage(file);
    shape ??= { width: trainWidth ?? image.width, height: trainHeight ?? image.height, file: training ? 'the training images' : file };
    if (image.width !== shape.width || image.height !== shape.height) {
      throw new DataError(
        'DATA_ERR_SHAPE',
        `${file}: ${image.width} x ${image.height} pixels, but ${shape.file} ${training ? 'are' : '(the first image) is'} ` +
          `${shape.width} x ${shape.height}; all images must share one size`,
      );
    }
    if (trainChannels === 1 && image.channels !== 1) {
      throw new DataError('DATA_ERR_SHAPE', `${file}: an RGB image, but the training images are all grayscale`);
    }
    if ((images.length + 1) * image.width * image.height * 3 > MAX_IMAGE_VALUES) {
      throw new DataError('DATA_ERR_TOO_LARGE', `${dir}: the images up to ${file} hold more than ${MAX_IMAGE_VALUES} input values`);
    }
    images.push(image);
  }
  const { width, height } = shape as { width: number; height: number };
  const channels = trainChannels ?? (images.every((image) => image.channels === 1) ? 1 : 3);
  const pixels = width * height;
  const x = new Float32Array(images.length * pixels * channels);
  images.forEach((image, i) => {
    const base = i * pixels * channels;
    for (let p = 0; p < pixels; p++) {
      for (let c = 0; c < channels; c++) {
        // A gray image in an RGB set: its one channel on all three.
        x[base + p * channels + c] = (image.pixels[p * image.channels + (image.channels === 1 ? 0 : c)] as number) / 255;
      }
    }
  });
  const y = Int32Array.from(listing.files, (f) => f.label);
  const dataset = new ArrayDataset({ name: `images:${dir}`, x, y, inputShape: [height, width, channels], numClasses: listing.classes.length });
  return { dataset, classes: listing.classes };
}

/** One image folder as a data set (see readImageFolder). */
export function loadImageFolder(dir: string): ArrayDataset {
  return readImageFolder(dir).dataset;
}

/** The training folder, and the test folder if named (same classes and image shape as the training folder). */
export function loadImageFolderDatasets(spec: ImagesSpec): { train: ArrayDataset; test: ArrayDataset | undefined } {
  const { dataset: train, classes } = readImageFolder(spec.train);
  const test = spec.test === undefined ? undefined : readImageFolder(spec.test, { classes, inputShape: train.inputShape }).dataset;
  return { train, test };
}
