import assert from 'node:assert/strict';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Dataset } from './dataset.js';
import { IndexViewDataset } from './index-view-dataset.js';
import { encodeNpy } from './npy.js';
import { loadNpyDataset } from './npy-dataset.js';
import { MAX_READ_BYTES, NpyFileDataset } from './npy-file-dataset.js';
import { NPY_STREAM_BYTES_ENV, openDataset } from './open-dataset.js';
import { mulberry32 } from './random.js';
import { openSharedDataset, shareDataset } from './shared-dataset.js';

const dir = mkdtempSync(path.join(tmpdir(), 'npy-file-test-'));
// A new seed per run, printed so a failure can be replayed with NPY_FILE_TEST_SEED.
const seed = Number(process.env.NPY_FILE_TEST_SEED ?? Date.now() % 2 ** 31);
console.log(`# npy-file-dataset test seed ${seed} (replay: NPY_FILE_TEST_SEED=${seed})`);
const random = mulberry32(seed);

function write(name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** Images of `n` samples of `shape` with values no two rows share, and labels in [0, 5). */
function files(name: string, kind: 'u8' | 'f32' | 'i32', n: number, shape: number[]): { images: string; labels: string } {
  const count = n * shape.reduce((a, b) => a * b, 1);
  const values = kind === 'u8' ? new Uint8Array(count) : kind === 'f32' ? new Float32Array(count) : new Int32Array(count);
  const next = kind === 'u8' ? () => Math.floor(random() * 256) : kind === 'f32' ? () => (random() - 0.5) * 1e3 : () => Math.floor((random() - 0.5) * 2 ** 31);
  // A loop, not TypedArray.from(..., fn): the wide case has millions of values.
  for (let i = 0; i < count; i++) values[i] = next();
  const images = write(`${name}-x.npy`, encodeNpy(values, [n, ...shape]));
  const labels = write(`${name}-y.npy`, encodeNpy(Int32Array.from({ length: n }, () => Math.floor(random() * 5)), [n]));
  return { images, labels };
}

/** Random index sets of the shapes training asks for, and the awkward ones: runs, repeats, reversed. */
function indexSets(size: number): Int32Array[] {
  // At most twice the data set: the wide-row case stays small in memory and time.
  const pick = (count: number): Int32Array => Int32Array.from({ length: Math.min(count, 2 * size) }, () => Math.floor(random() * size));
  const run = (start: number, count: number): Int32Array => Int32Array.from({ length: Math.min(count, size - start) }, (_, i) => start + i);
  const sets = [pick(1), pick(64), pick(256), run(0, size), run(0, size).reverse(), pick(40).sort(), Int32Array.from([3, 3, 4, 2, 3].map((i) => i % size))];
  const mixed = Int32Array.from([...run(Math.floor(size / 3), 9), ...pick(7), ...run(1, 5)]);
  return [...sets, mixed, Int32Array.from({ length: 0 })];
}

function assertSameBatches(streamed: Dataset, loaded: Dataset, label: string): void {
  for (const indices of indexSets(loaded.size)) {
    const a = streamed.batch(indices);
    const b = loaded.batch(indices);
    // Bytes, not values: NaN and -0 would hide in a numeric comparison.
    if (!Buffer.from(a.x.buffer).equals(Buffer.from(b.x.buffer))) {
      const at = a.x.findIndex((v, i) => !Object.is(v, b.x[i]));
      assert.fail(`${label}: x differs at value ${at} (${a.x[at]} vs ${b.x[at]}) for indices [${[...indices].slice(0, 12).join(', ')}...]`);
    }
    assert.deepEqual(a.y, b.y, `${label}: y differs`);
    assert.equal(a.count, b.count);
  }
}

test('a streamed npy data set gives the in-memory batches bit for bit, and the same fingerprint', () => {
  const cases = [
    files('u8', 'u8', 300, [28, 28]),
    files('f32', 'f32', 200, [7, 5, 3]),
    files('i32', 'i32', 50, [9]),
    // Rows of 1.5 MiB: one read holds two (MAX_READ_BYTES), so runs split; 18 MiB passes one fingerprint chunk.
    files('wide', 'f32', 12, [Math.floor((1.5 * MAX_READ_BYTES) / 4 / 4), 4]),
  ];
  for (const options of cases) {
    const streamed = NpyFileDataset.open(options);
    const loaded = loadNpyDataset(options);
    assert.equal(streamed.name, loaded.name);
    assert.deepEqual([streamed.size, streamed.inputShape, streamed.numClasses], [loaded.size, loaded.inputShape, loaded.numClasses]);
    assertSameBatches(streamed, loaded, options.images);
    assert.equal(streamed.fingerprint(), loaded.fingerprint(), `${options.images}: fingerprints differ`);
  }
});

test('the seeded validation split of a streamed npy data set is a view of the file, identical to the in-memory split', () => {
  const { images, labels } = files('split', 'u8', 95, [6, 6]);
  const spec = `npy:${images},${labels}`;
  const loaded = openDataset(spec, 7);
  process.env[NPY_STREAM_BYTES_ENV] = '0';
  let streamed: ReturnType<typeof openDataset>;
  try {
    streamed = openDataset(spec, 7);
  } finally {
    delete process.env[NPY_STREAM_BYTES_ENV];
  }
  for (const part of ['train', 'test'] as const) {
    const view = streamed[part];
    assert.ok(view instanceof IndexViewDataset && view.base instanceof NpyFileDataset, `the streamed ${part} part is not a view of the file`);
    assert.equal(view.name, loaded[part].name);
    assertSameBatches(view, loaded[part], `${part} part`);
    assert.equal(view.fingerprint(), loaded[part].fingerprint(), `${part} part: fingerprints differ`);
    // Rank threads reopen it by path, not from a copy.
    const handle = shareDataset(view);
    assert.equal(handle.kind, 'npy-file');
    assertSameBatches(openSharedDataset(handle), loaded[part], `${part} part through a shared handle`);
  }
});

test('a file shorter than its header says fails when it opens, naming the file', () => {
  const options = files('cut', 'u8', 20, [4, 4]);
  truncateSync(options.images, 128 + 19 * 16 + 5);
  assert.throws(() => NpyFileDataset.open(options), { code: 'DATA_ERR_NPY_FORMAT', message: /cut-x\.npy: truncated: its header declares 20 samples .* but the file has 437 bytes/ });
  process.env[NPY_STREAM_BYTES_ENV] = '0';
  try {
    assert.throws(() => openDataset(`npy:${options.images},${options.labels}`), { code: 'DATA_ERR_NPY_FORMAT', message: /cut-x\.npy: truncated/ });
  } finally {
    delete process.env[NPY_STREAM_BYTES_ENV];
  }
  // Cut inside the header, missing, not a .npy file at all: read from disk, the header parser names the file too.
  truncateSync(options.images, 60);
  assert.throws(() => NpyFileDataset.open(options), { code: 'DATA_ERR_NPY_FORMAT', message: /cut-x\.npy: truncated header/ });
  assert.throws(() => NpyFileDataset.open({ ...options, images: path.join(dir, 'missing.npy') }), { code: 'DATA_ERR_NPY_FORMAT', message: /missing\.npy: cannot read/ });
  writeFileSync(options.images, 'just text, no magic');
  assert.throws(() => NpyFileDataset.open(options), { code: 'DATA_ERR_NPY_FORMAT', message: /cut-x\.npy: not a \.npy file/ });
});

test('a file cut while it is in use fails the batch that reads past its end, naming the file and the sample', () => {
  const options = files('shrinks', 'f32', 20, [4]);
  const streamed = NpyFileDataset.open(options);
  assert.equal(streamed.batch([19]).count, 1);
  truncateSync(options.images, 128 + 12 * 16 + 8);
  assert.equal(streamed.batch([11, 0]).count, 2, 'samples before the cut still read');
  assert.throws(() => streamed.batch([2, 15]), { code: 'DATA_ERR_FILE', message: /shrinks-x\.npy: cannot read sample 15: the file ends before it/ });
  assert.throws(() => streamed.batch([10, 11, 12, 13]), { code: 'DATA_ERR_FILE', message: /cannot read sample 12:/ });
  assert.throws(() => streamed.batch([20]), { code: 'DATA_ERR_INDEX', message: /sample index 20 is outside \[0, 20\)/ });
});
