import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArrayDataset } from './array-dataset.js';
import { IndexViewDataset } from './index-view-dataset.js';

const base = new ArrayDataset({
  name: 'base',
  x: Float32Array.from({ length: 10 * 3 }, (_, k) => Math.floor(k / 3) + (k % 3) / 10),
  y: Int32Array.from({ length: 10 }, (_, i) => i % 4),
  inputShape: [3],
  numClasses: 4,
});

test('a view batches and fingerprints as a copy of its samples would, in its own index space', () => {
  const picked = Int32Array.from([7, 2, 2, 9]);
  const view = new IndexViewDataset('view', base, picked);
  const copy = base.batch(picked);
  const asCopy = new ArrayDataset({ name: 'copy', x: copy.x, y: copy.y, inputShape: [3], numClasses: 4 });
  assert.deepEqual([view.size, view.inputShape, view.numClasses], [4, [3], 4]);
  assert.deepEqual(view.batch([3, 0]), asCopy.batch([3, 0]));
  assert.equal(view.fingerprint(), asCopy.fingerprint());
});

test('indices outside the base or the view are DATA_ERR_INDEX, naming the view', () => {
  assert.throws(() => new IndexViewDataset('split', base, Int32Array.from([0, 10])), { code: 'DATA_ERR_INDEX', message: /split: index 10 is outside base's \[0, 10\)/ });
  const view = new IndexViewDataset('split', base, Int32Array.from([1, 2]));
  assert.throws(() => view.batch([2]), { code: 'DATA_ERR_INDEX', message: /split: sample index 2 is outside \[0, 2\)/ });
  assert.throws(() => view.batch([0.5]), { code: 'DATA_ERR_INDEX' });
});
