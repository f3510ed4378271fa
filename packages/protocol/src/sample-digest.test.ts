import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combineDigests, DIGEST_MODULUS, mixIndex, sampleDigest } from './sample-digest.js';

function shuffled(values: readonly number[], seed: number): number[] {
  const out = [...values];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

const batch = Array.from({ length: 64 }, (_, i) => (i * 7919) % 60_000);

test('the digest does not depend on the order of the indices', () => {
  const d = sampleDigest(batch);
  for (let seed = 1; seed <= 20; seed++) assert.equal(sampleDigest(shuffled(batch, seed)), d);
  assert.equal(sampleDigest(Int32Array.from(batch).reverse()), d);
});

test('shards combine to the digest of their union, whatever the cut', () => {
  const whole = sampleDigest(batch);
  for (const cut of [0, 1, 17, 63, 64]) {
    assert.equal(combineDigests(sampleDigest(batch.slice(0, cut)), sampleDigest(batch.slice(cut))), whole);
  }
  assert.equal(sampleDigest([]), 0);
});

test('a replaced, duplicated or missing index changes the digest', () => {
  const d = sampleDigest(batch);
  // Each index replaced by its neighbour (a shard off by one).
  for (let i = 0; i < batch.length; i++) {
    const replaced = [...batch];
    replaced[i] = (batch[i] as number) + 1;
    assert.notEqual(sampleDigest(replaced), d, `index ${batch[i]} replaced by the next one`);
  }
  // One index trained twice in place of another (two ranks overlap, a sample is lost).
  for (let i = 1; i < batch.length; i++) {
    const duplicated = [...batch];
    duplicated[i] = batch[0] as number;
    assert.notEqual(sampleDigest(duplicated), d, `index ${batch[i]} replaced by a second ${batch[0]}`);
  }
  // One index left out, or one added twice.
  for (let i = 0; i < batch.length; i++) assert.notEqual(sampleDigest(batch.filter((_, j) => j !== i)), d);
  assert.notEqual(sampleDigest([...batch, batch[5] as number]), d);
  // Two shards swapped between ranks do not change the union (exactly once still holds); the per-rank digests differ.
  assert.notEqual(sampleDigest(batch.slice(0, 32)), sampleDigest(batch.slice(32)));
});

test('digests stay exact integers below 2^52, also for the largest indices and long batches', () => {
  for (const i of [0, 1, 2 ** 24, 2 ** 31 - 1]) {
    const m = mixIndex(i);
    assert.ok(Number.isInteger(m) && m >= 0 && m < DIGEST_MODULUS, `mix(${i}) = ${m}`);
  }
  const long = Int32Array.from({ length: 1 << 16 }, (_, i) => 2 ** 31 - 1 - i);
  const d = sampleDigest(long);
  assert.ok(Number.isInteger(d) && d >= 0 && d < DIGEST_MODULUS);
  // No two of the first 2^16 indices mix to the same value (the hash is not degenerate).
  const seen = new Set<number>();
  for (let i = 0; i < 1 << 16; i++) seen.add(mixIndex(i));
  assert.equal(seen.size, 1 << 16);
});
