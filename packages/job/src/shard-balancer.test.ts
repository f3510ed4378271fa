import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShardBalancer } from './shard-balancer.js';

test('absurd compute times leave the speed balancer\'s shards finite, whole and summing to the batch', () => {
  for (const computeMs of [5e-324, 0, -1, Number.NaN, Infinity, 1e300]) {
    const balancer = new ShardBalancer({ mode: 'speed', ranks: 3 });
    for (let step = 0; step < 3; step++) {
      balancer.observe(0, 8, 10);
      balancer.observe(1, 8, 20);
      balancer.observe(2, 8, computeMs);
    }
    assert.ok(balancer.measuredSpeeds().every(Number.isFinite), `${computeMs}: ${balancer.measuredSpeeds().join(', ')}`);
    const sizes = balancer.sizes(24);
    assert.ok(sizes.every((n) => Number.isInteger(n) && n >= 0), `${computeMs}: [${sizes.join(', ')}]`);
    assert.equal(sizes.reduce((a, b) => a + b, 0), 24, `${computeMs}: [${sizes.join(', ')}]`);
  }
});

test('measured speeds size the shards: a rank twice as fast gets about twice the samples', () => {
  const balancer = new ShardBalancer({ mode: 'speed', ranks: 2 });
  balancer.observe(0, 10, 10);
  balancer.observe(1, 10, 20);
  assert.deepEqual(balancer.sizes(30), [20, 10]);
});
