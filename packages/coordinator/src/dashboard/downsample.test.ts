import assert from 'node:assert/strict';
import { test } from 'node:test';
import { downsampleMinMax } from './downsample.js';

test('short series come back whole', () => {
  const out = downsampleMinMax([1, 2, 3], [[5, 6, 7]], 3, 10);
  assert.deepEqual(out, { x: [1, 2, 3], ys: [[5, 6, 7]] });
});

test('100 000 points become at most maxPoints, spanning the whole run and keeping a one-step spike and dip', () => {
  const n = 100_000;
  const x = Float64Array.from({ length: n }, (_, i) => i + 1);
  const loss = Float64Array.from({ length: n }, (_, i) => 2 * Math.exp(-i / 20_000) + 0.01 * Math.sin(i));
  loss[61_234] = 50; // one diverging step
  const slow = Float64Array.from({ length: n }, () => 100);
  slow[77_777] = 1; // one step much faster than the rest
  const out = downsampleMinMax(x, [loss, slow], n, 1000);
  assert.equal(out.x.length, 1000);
  assert.ok(out.ys.every((y) => y.length === 1000));
  assert.equal(out.x[0], 1);
  assert.equal(out.x.at(-1), n);
  assert.ok(out.x.every((v, i) => i === 0 || v >= (out.x[i - 1] as number)), 'x stays sorted');
  assert.equal(Math.max(...(out.ys[0] as number[])), 50);
  assert.equal(Math.min(...(out.ys[1] as number[])), 1);
  // The spike sits in the bucket whose x range holds step 61 235.
  const at = out.ys[0]?.indexOf(50) ?? -1;
  const bucket = Math.floor(at / 2);
  assert.ok((out.x[2 * bucket] as number) <= 61_235 && 61_235 <= (out.x[2 * bucket + 1] as number));
});

test('within a bucket the extremes keep their order, and missing values (NaN) are skipped', () => {
  const x = [0, 1, 2, 3, 4, 5, 6, 7];
  const falling = [9, 8, 7, 6, 5, 4, 3, 2];
  const gaps = [NaN, NaN, NaN, NaN, 1, NaN, 3, NaN];
  const out = downsampleMinMax(x, [falling, gaps], 8, 4);
  assert.deepEqual(out.x, [0, 3, 4, 7]);
  assert.deepEqual(out.ys[0], [9, 6, 5, 2]);
  assert.ok(Number.isNaN(out.ys[1]?.[0]) && Number.isNaN(out.ys[1]?.[1]));
  assert.deepEqual(out.ys[1]?.slice(2), [1, 3]);
});

test('maxPoints below 2 is refused', () => {
  assert.throws(() => downsampleMinMax([1, 2, 3], [], 3, 1), RangeError);
});
