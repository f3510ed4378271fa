import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutShards, EpochSampler, evenShardSizes, proportionalShardSizes } from './sampler.js';
import { mulberry32 } from './random.js';

/** Runs one epoch the way a job does (global batch -> shards) and counts every index. */
function countOneEpoch(sampler: EpochSampler, epoch: number, shardSizesFor: (count: number) => number[]): Uint32Array {
  const seen = new Uint32Array(sampler.size);
  for (let step = 0; step < sampler.stepsPerEpoch; step++) {
    const batch = sampler.batch(epoch, step);
    const sizes = shardSizesFor(batch.length);
    for (const shard of cutShards(batch, sizes)) for (const i of shard) seen[i] = (seen[i] as number) + 1;
  }
  return seen;
}

test('every index exactly once per epoch, for many sizes, batches and shardings', () => {
  const random = mulberry32(42);
  let cases = 0;
  for (const size of [1, 2, 7, 64, 100, 257, 1000]) {
    for (const globalBatch of [1, 3, 16, 64, 999, 2048]) {
      for (const ranks of [1, 2, 3, 5]) {
        const sampler = new EpochSampler({ size, globalBatch, seed: size * 31 + globalBatch });
        const strategies: ((n: number) => number[])[] = [
          (n) => evenShardSizes(n, ranks),
          (n) => proportionalShardSizes(n, Array.from({ length: ranks }, () => Math.floor(random() * 4))),
          // one rank gets nothing
          (n) => [n, ...Array.from({ length: ranks - 1 }, () => 0)],
        ];
        for (const strategy of strategies) {
          for (const epoch of [0, 1]) {
            const seen = countOneEpoch(sampler, epoch, strategy);
            const wrong = seen.findIndex((c) => c !== 1);
            assert.equal(wrong, -1, `size ${size} batch ${globalBatch} ranks ${ranks} epoch ${epoch}: index ${wrong} seen ${seen[wrong]} times`);
            cases++;
          }
        }
      }
    }
  }
  assert.ok(cases > 400);
});

test('the last batch of an epoch is partial and batches are full before it', () => {
  const sampler = new EpochSampler({ size: 100, globalBatch: 32, seed: 1 });
  assert.equal(sampler.stepsPerEpoch, 4);
  assert.deepEqual([0, 1, 2, 3].map((s) => sampler.batch(0, s).length), [32, 32, 32, 4]);
  assert.throws(() => sampler.batch(0, 4), { code: 'DATA_ERR_ARGUMENT' });
});

test('epoch order is a pure function of (seed, epoch) and changes between epochs', () => {
  const a = new EpochSampler({ size: 500, globalBatch: 10, seed: 9 });
  const b = new EpochSampler({ size: 500, globalBatch: 10, seed: 9 });
  const c = new EpochSampler({ size: 500, globalBatch: 10, seed: 10 });
  assert.deepEqual(a.permutation(3), b.permutation(3));
  assert.notDeepEqual(a.permutation(0), a.permutation(1));
  assert.notDeepEqual(a.permutation(0), c.permutation(0));
  const ordered = new EpochSampler({ size: 5, globalBatch: 2, seed: 9, shuffle: false });
  assert.deepEqual([...ordered.permutation(0)], [0, 1, 2, 3, 4]);
});

test('shard sizes sum to the batch, even sizes differ by at most one', () => {
  assert.deepEqual(evenShardSizes(10, 3), [4, 3, 3]);
  assert.deepEqual(evenShardSizes(2, 4), [1, 1, 0, 0]);
  // 2.5, 2.5, 5: the tie on the remainder goes to the lower rank.
  assert.deepEqual(proportionalShardSizes(10, [1, 1, 2]), [3, 2, 5]);
  const sizes = proportionalShardSizes(64, [3, 1, 0, 2]);
  assert.equal(sizes.reduce((x, y) => x + y, 0), 64);
  assert.equal(sizes[2], 0);
  assert.ok((sizes[0] as number) > (sizes[3] as number) && (sizes[3] as number) > (sizes[1] as number));
  assert.deepEqual(proportionalShardSizes(7, [0, 0]), [4, 3]);
  assert.throws(() => proportionalShardSizes(7, [1, -1]), { code: 'DATA_ERR_ARGUMENT' });
  assert.throws(() => cutShards(new Int32Array(5), [2, 2]), { code: 'DATA_ERR_ARGUMENT' });
  assert.throws(() => cutShards(new Int32Array(5), [6, -1]), { code: 'DATA_ERR_ARGUMENT' });
});
