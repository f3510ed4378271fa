import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeMesh } from '../transport/fake-link.js';
import { combineInto } from './reduce-op.js';
import { ScheduleCollectives } from '../processes/schedule-collectives.js';
import { assertBitIdentical } from '../testing.js';

const bits = (x: Float32Array): number[] => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

test('max is commutative bit for bit: +0 beats -0 and NaN is canonical either way round', () => {
  const a = Float32Array.of(0, -0, NaN, 1, -0, 2);
  const b = Float32Array.of(-0, 0, 3, NaN, -0, 2);
  const ab = a.slice();
  combineInto(ab, b, 'max');
  const ba = b.slice();
  combineInto(ba, a, 'max');
  assert.deepEqual(bits(ab), bits(ba));
  assert.ok(Object.is(ab[0], 0) && Object.is(ab[4], -0) && Number.isNaN(ab[2]) && Number.isNaN(ab[3]) && ab[5] === 2);
});

test('recursive doubling max over signed zeros gives every rank the same bits', async () => {
  const mesh = fakeMesh(4);
  const options = { smallBytes: 1 << 20, segmentBytes: 64, algorithm: 'auto' } as const;
  const ranks = Array.from({ length: 4 }, (_, r) => new ScheduleCollectives(r, 4, 'g', (q) => mesh[r]?.[q] as never, options));
  const bufs = ranks.map((_, r) => Float32Array.of(r % 2 ? 0 : -0, r % 2 ? -0 : 0, -0));
  await Promise.all(ranks.map((g, r) => g.allReduce(bufs[r] as Float32Array, 'max')));
  assertBitIdentical(bufs, 'max of zeros');
  assert.ok(Object.is(bufs[0]?.[2], -0));
});
