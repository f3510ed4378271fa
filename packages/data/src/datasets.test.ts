import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ArrayDataset } from './array-dataset.js';
import type { Dataset } from './dataset.js';
import { loadMnist, MNIST_TEST_PER_DIGIT } from './mnist.js';
import { encodeNpy } from './npy.js';
import { heldOutOf, openDataset, VALIDATION_SHARE } from './open-dataset.js';
import { syntheticDataset } from './synthetic.js';

test('MNIST: deterministic split, balanced test set, pixels in [0, 1]', () => {
  const train = loadMnist('train');
  const test = loadMnist('test');
  assert.equal(test.size, 10 * MNIST_TEST_PER_DIGIT);
  assert.ok(train.size > 8000, `train has ${train.size} samples`);
  assert.deepEqual(train.inputShape, [28, 28, 1]);
  const all = test.batch(Int32Array.from({ length: test.size }, (_, i) => i));
  const perClass = new Array<number>(10).fill(0);
  for (const y of all.y) perClass[y] = (perClass[y] as number) + 1;
  assert.deepEqual(perClass, new Array<number>(10).fill(MNIST_TEST_PER_DIGIT));
  assert.ok(all.x.every((v) => v >= 0 && v <= 1));
  // Same bytes on every load (and so on every machine with the same package).
  assert.equal(loadMnist('test').fingerprint(), test.fingerprint());
  assert.notEqual(train.fingerprint(), test.fingerprint());
});

test('synthetic data: seeded, and learnable (nearest class mean beats chance by far)', () => {
  const a = syntheticDataset({ size: 400, seed: 3 });
  assert.equal(a.fingerprint(), syntheticDataset({ size: 400, seed: 3 }).fingerprint());
  assert.notEqual(a.fingerprint(), syntheticDataset({ size: 400, seed: 4 }).fingerprint());
  const { train, test } = openDataset('synthetic', 3);
  const dims = train.inputShape.reduce((x, y) => x * y, 1);
  const all = train.batch(Int32Array.from({ length: train.size }, (_, i) => i));
  const means = Array.from({ length: train.numClasses }, () => new Float64Array(dims));
  const counts = new Array<number>(train.numClasses).fill(0);
  all.y.forEach((label, i) => {
    counts[label] = (counts[label] as number) + 1;
    const m = means[label] as Float64Array;
    for (let j = 0; j < dims; j++) m[j] = (m[j] as number) + (all.x[i * dims + j] as number);
  });
  means.forEach((m, c) => m.forEach((v, j) => (m[j] = v / (counts[c] as number))));
  const held = test.batch(Int32Array.from({ length: test.size }, (_, i) => i));
  let correct = 0;
  for (let i = 0; i < test.size; i++) {
    let best = -1;
    let bestDistance = Infinity;
    means.forEach((m, c) => {
      let d = 0;
      for (let j = 0; j < dims; j++) d += ((held.x[i * dims + j] as number) - (m[j] as number)) ** 2;
      if (d < bestDistance) [best, bestDistance] = [c, d];
    });
    if (best === held.y[i]) correct++;
  }
  assert.ok(correct / test.size > 0.9, `nearest-mean accuracy ${correct / test.size}`);
});

test('ArrayDataset refuses inconsistent arrays and bad indices', () => {
  const ok = { name: 't', x: new Float32Array(12), y: new Int32Array(3), inputShape: [4], numClasses: 2 };
  assert.throws(() => new ArrayDataset({ ...ok, y: new Int32Array(2) }), { code: 'DATA_ERR_LENGTH_MISMATCH' });
  assert.throws(() => new ArrayDataset({ ...ok, x: new Float32Array(13) }), { code: 'DATA_ERR_SHAPE' });
  assert.throws(() => new ArrayDataset({ ...ok, y: Int32Array.from([0, 5, 1]) }), { code: 'DATA_ERR_LABEL' });
  const ds = new ArrayDataset(ok);
  assert.throws(() => ds.batch([3]), { code: 'DATA_ERR_INDEX' });
  assert.throws(() => openDataset('imagenet'), { code: 'DATA_ERR_UNKNOWN_DATASET' });
});

test('npy without test files: a seeded 10 % validation split is held out, never trained on; with test files those are the test set', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'npy-split-'));
  const count = 95;
  // Sample i is the constant i, so a sample's origin is read back from its pixels.
  writeFileSync(path.join(dir, 'x.npy'), encodeNpy(Float32Array.from({ length: count * 4 }, (_, k) => Math.floor(k / 4)), [count, 2, 2]));
  writeFileSync(path.join(dir, 'y.npy'), encodeNpy(Int32Array.from({ length: count }, (_, i) => i % 3), [count]));
  const spec = `npy:${path.join(dir, 'x.npy')},${path.join(dir, 'y.npy')}`;
  const origins = (d: Dataset): number[] => Array.from(d.batch(Int32Array.from({ length: d.size }, (_, i) => i)).x.filter((_, k) => k % 4 === 0));
  const { train, test: held } = openDataset(spec, 7);
  assert.equal(held.size, Math.round(count * VALIDATION_SHARE));
  assert.equal(train.size + held.size, count);
  const trained = new Set(origins(train));
  assert.deepEqual(origins(held).filter((i) => trained.has(i)), [], 'a validation sample is also trained on');
  assert.deepEqual([...trained, ...origins(held)].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i));
  // Labels travel with their samples.
  const h = held.batch(Int32Array.from({ length: held.size }, (_, i) => i));
  origins(held).forEach((origin, i) => assert.equal(h.y[i], origin % 3, `sample ${origin} lost its label`));
  assert.deepEqual(origins(openDataset(spec, 7).test), origins(held), 'the split is not the same for the same seed');
  assert.notDeepEqual(origins(openDataset(spec, 8).test), origins(held), 'the split does not depend on the seed');
  assert.match(heldOutOf(spec), /seeded 10 % validation split/);
  const withTest = openDataset(`${spec},${path.join(dir, 'x.npy')},${path.join(dir, 'y.npy')}`, 7);
  assert.deepEqual([withTest.train.size, withTest.test.size], [count, count]);
  assert.equal(heldOutOf(`${spec},a.npy,b.npy`), 'the test files');
});
