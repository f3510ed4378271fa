import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { encodeNpy, parseNpy } from './npy.js';
import { loadNpyDataset } from './npy-dataset.js';

const dir = mkdtempSync(path.join(tmpdir(), 'npy-test-'));
function file(name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

test('encode -> parse round trip keeps dtype, shape and values', () => {
  const values = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
  const parsed = parseNpy(encodeNpy(values, [2, 3, 4]));
  assert.equal(parsed.dtype, '<f4');
  assert.deepEqual(parsed.shape, [2, 3, 4]);
  assert.deepEqual([...parsed.data], [...values]);
  const labels = parseNpy(encodeNpy(Int32Array.from([3, 1, 2]), [3]));
  assert.deepEqual(labels.shape, [3]);
  assert.deepEqual([...labels.data], [3, 1, 2]);
});

test('a hand-made version-1 header with uint8 data parses', () => {
  const header = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }";
  const padded = header.padEnd(128 - 10 - 1, ' ') + '\n';
  const bytes = new Uint8Array(128 + 4);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, padded.length, 0]);
  bytes.set(new TextEncoder().encode(padded), 10);
  bytes.set([0, 64, 128, 255], 128);
  const parsed = parseNpy(bytes);
  assert.deepEqual([...parsed.data], [0, 64, 128, 255]);
});

/** The same bytes with one piece of the (ASCII) header replaced by another of equal length. */
function editHeader(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const text = Array.from(bytes, (b) => String.fromCharCode(b)).join('');
  assert.ok(text.includes(from) && from.length === to.length);
  return Uint8Array.from(text.replace(from, to), (c) => c.charCodeAt(0));
}

test('bad files get clear errors with codes', () => {
  assert.throws(() => parseNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])), { code: 'DATA_ERR_NPY_FORMAT', message: /bad magic/ });
  const good = encodeNpy(new Float32Array(8), [8]);
  assert.throws(() => parseNpy(good.subarray(0, good.length - 4), 'cut.npy'), { code: 'DATA_ERR_NPY_FORMAT', message: /cut\.npy.*payload/ });
  assert.throws(() => parseNpy(editHeader(good, '<f4', '>f4')), { code: 'DATA_ERR_NPY_DTYPE', message: />f4/ });
  assert.throws(() => parseNpy(editHeader(good, "'fortran_order': False", "'fortran_order': True ")), { code: 'DATA_ERR_NPY_FORMAT', message: /Fortran/ });
  assert.throws(() => parseNpy(editHeader(good, "'shape': (8,)", "'shape': (x,)")), { code: 'DATA_ERR_NPY_FORMAT', message: /bad dimension/ });
});

test('loadNpyDataset checks shapes, dtypes and lengths, naming the file', () => {
  const images = file('images.npy', encodeNpy(Uint8Array.from({ length: 3 * 4 * 4 }, (_, i) => i), [3, 4, 4]));
  const labels = file('labels.npy', encodeNpy(Int32Array.from([0, 2, 1]), [3]));
  const ds = loadNpyDataset({ images, labels });
  assert.equal(ds.size, 3);
  assert.deepEqual(ds.inputShape, [4, 4, 1]);
  assert.equal(ds.numClasses, 3);
  const b = ds.batch([2]);
  assert.equal(b.y[0], 1);
  assert.ok(Math.abs((b.x[0] as number) - 32 / 255) < 1e-7, 'uint8 images are scaled to [0, 1]');

  const twoLabels = file('two-labels.npy', encodeNpy(Int32Array.from([0, 1]), [2]));
  assert.throws(() => loadNpyDataset({ images, labels: twoLabels }), { code: 'DATA_ERR_LENGTH_MISMATCH', message: /images\.npy has 3 samples but .*two-labels\.npy has 2/ });
  const floatLabels = file('float-labels.npy', encodeNpy(new Float32Array(3), [3]));
  assert.throws(() => loadNpyDataset({ images, labels: floatLabels }), { code: 'DATA_ERR_NPY_DTYPE', message: /float-labels\.npy/ });
  const flat = file('flat.npy', encodeNpy(new Float32Array(3), [3]));
  assert.throws(() => loadNpyDataset({ images: flat, labels }), { code: 'DATA_ERR_SHAPE', message: /flat\.npy/ });
  assert.throws(() => loadNpyDataset({ images: path.join(dir, 'missing.npy'), labels }), { code: 'DATA_ERR_NPY_FORMAT', message: /missing\.npy: cannot read/ });
});
