import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataError } from './errors.js';
import { loadImageFolder } from './image-folder-dataset.js';
import { heldOutOf, openDataset } from './open-dataset.js';

const root = mkdtempSync(path.join(tmpdir(), 'images-test-'));
let folders = 0;

/** A w x h RGBA image whose pixel p has channel c = (seed + 7p + 50c) mod 256 (gray: all channels alike). */
function rgba(w: number, h: number, seed: number, gray = false): Uint8Array {
  const data = new Uint8Array(w * h * 4);
  for (let p = 0; p < w * h; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = (seed + 7 * p + (gray ? 0 : 50 * c)) % 256;
    data[p * 4 + 3] = 255;
  }
  return data;
}

function png(w: number, h: number, seed: number, gray = false): Buffer {
  const image = new PNG({ width: w, height: h, colorType: gray ? 0 : 2, inputColorType: 6 });
  image.data = Buffer.from(rgba(w, h, seed, gray));
  return PNG.sync.write(image, { colorType: gray ? 0 : 2, inputColorType: 6 });
}

/** A smooth RGB image (JPEG keeps it close): pixel (i, j) channel c = 40 + 20i + 10j + 30c. */
function smoothRgba(w: number, h: number): Uint8Array {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let c = 0; c < 4; c++) data[(i * w + j) * 4 + c] = c === 3 ? 255 : 40 + 20 * i + 10 * j + 30 * c;
  return data;
}

/** A fresh folder with the given files (path relative to it → bytes). */
function folder(files: Record<string, Buffer>): string {
  const dir = path.join(root, `set-${folders++}`);
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), bytes);
  }
  return dir;
}

function all(d: { size: number; batch(i: Int32Array): { x: Float32Array; y: Int32Array } }): { x: Float32Array; y: number[] } {
  const b = d.batch(Int32Array.from({ length: d.size }, (_, i) => i));
  return { x: b.x, y: [...b.y] };
}

test('PNG classes in sorted folder order decode exactly, scaled to [0, 1]', () => {
  const dir = folder({ 'b-dog/2.png': png(3, 2, 9), 'b-dog/1.png': png(3, 2, 5), 'a-cat/x.png': png(3, 2, 1), 'a-cat/notes.txt': Buffer.from('skip') });
  const d = loadImageFolder(dir);
  assert.deepEqual(d.inputShape, [2, 3, 3]);
  assert.equal(d.numClasses, 2);
  const { x, y } = all(d);
  assert.deepEqual(y, [0, 1, 1]);
  // Sample order: a-cat/x (seed 1), b-dog/1 (seed 5), b-dog/2 (seed 9); alpha dropped.
  const expected = [1, 5, 9].flatMap((seed) => [...rgba(3, 2, seed)].filter((_, i) => i % 4 !== 3).map((v) => v / 255));
  assert.deepEqual([...x], expected.map((v) => Math.fround(v)));
});

test('grayscale PNGs give one channel; a gray image in an RGB set is repeated over three', () => {
  const gray = loadImageFolder(folder({ 'a/1.png': png(2, 2, 3, true), 'b/1.png': png(2, 2, 4, true) }));
  assert.deepEqual(gray.inputShape, [2, 2, 1]);
  assert.deepEqual([...all(gray).x].map((v) => Math.round(v * 255)), [3, 10, 17, 24, 4, 11, 18, 25]);
  const mixed = loadImageFolder(folder({ 'a/1.png': png(2, 2, 3, true), 'b/1.png': png(2, 2, 4) }));
  assert.deepEqual(mixed.inputShape, [2, 2, 3]);
  assert.deepEqual([...all(mixed).x.subarray(0, 6)].map((v) => Math.round(v * 255)), [3, 3, 3, 10, 10, 10]);
});

test('JPEG files decode within a tolerance, next to PNGs of the same size', () => {
  const w = 8;
  const h = 8;
  const smooth = smoothRgba(w, h);
  const dir = folder({ 'a/1.jpg': jpeg.encode({ width: w, height: h, data: Buffer.from(smooth) }, 95).data, 'b/1.png': png(w, h, 0) });
  const d = loadImageFolder(dir);
  assert.deepEqual(d.inputShape, [h, w, 3]);
  const first = all(d).x.subarray(0, w * h * 3);
  const expected = [...smooth].filter((_, i) => i % 4 !== 3);
  const errors = expected.map((v, i) => Math.abs((first[i] as number) * 255 - v));
  // Lossy, with chroma subsampled: a loose bound on each value, a tight one on the mean.
  const worst = Math.max(...errors);
  const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
  assert.ok(worst <= 16 && mean <= 4, `JPEG pixels near the original: worst ${worst}, mean ${mean} (of 255)`);
});

test('a corrupt image is a DataError naming the file', () => {
  const good = png(2, 2, 0);
  const cases: [string, Buffer][] = [
    ['not an image at all', Buffer.from('hello, not a picture')],
    ['a truncated PNG', good.subarray(0, good.length - 20)],
    ['a PNG with a damaged data chunk', Buffer.from(good.map((b, i) => (i > 40 && i < 50 ? b ^ 0x5a : b)))],
    ['a truncated JPEG', jpeg.encode({ width: 8, height: 8, data: Buffer.from(smoothRgba(8, 8)) }, 90).data.subarray(0, 200)],
  ];
  for (const [what, bytes] of cases) {
    const dir = folder({ 'a/ok.png': good, 'b/bad.png': bytes });
    assert.throws(
      () => loadImageFolder(dir),
      (e: unknown) => e instanceof DataError && e.code === 'DATA_ERR_IMAGE' && e.message.startsWith(path.join(dir, 'b', 'bad.png')),
      what,
    );
  }
});

test('images of different sizes: the error names the first file that differs', () => {
  const dir = folder({ 'a/1.png': png(2, 2, 0), 'a/2.png': png(2, 2, 1), 'b/1.png': png(3, 2, 0), 'b/2.png': png(4, 2, 0) });
  assert.throws(
    () => loadImageFolder(dir),
    (e: unknown) => e instanceof DataError && e.code === 'DATA_ERR_SHAPE' && e.message.startsWith(`${path.join(dir, 'b', '1.png')}:`),
  );
});

test('openDataset: images:dir holds out a validation split; images:dir,testdir needs the same classes', () => {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 10; i++) files[`${i % 2 ? 'odd' : 'even'}/${i}.png`] = png(2, 2, i);
  const train = folder(files);
  const pair = openDataset(`images:${train}`, 3);
  assert.equal(pair.train.size, 9);
  assert.equal(pair.test.size, 1);
  assert.match(heldOutOf(`images:${train}`), /validation split/);
  const testDir = folder({ 'even/t.png': png(2, 2, 40), 'odd/t.png': png(2, 2, 41, true) });
  const withTest = openDataset(`images:${train},${testDir}`);
  assert.deepEqual(withTest.test.inputShape, [2, 2, 3]);
  assert.equal(heldOutOf(`images:${train},${testDir}`), 'the test folder');
  const otherClasses = folder({ 'even/t.png': png(2, 2, 40), 'other/t.png': png(2, 2, 41) });
  assert.throws(() => openDataset(`images:${train},${otherClasses}`), (e: unknown) => e instanceof DataError && e.code === 'DATA_ERR_SHAPE');
  const oneClass = folder({ 'only/t.png': png(2, 2, 1) });
  assert.throws(() => openDataset(`images:${oneClass}`), (e: unknown) => e instanceof DataError && e.code === 'DATA_ERR_TOO_SMALL');
});
