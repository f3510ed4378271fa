import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WaitUntil } from './wait-until.js';

test('a wait resolves once its condition holds and someone wakes it', async () => {
  const waits = new WaitUntil(() => undefined);
  let value = 0;
  let resolved = false;
  const wait = waits.until(() => value >= 2, 10_000, () => new Error('timeout')).then(() => (resolved = true));
  value = 1;
  waits.wake();
  await Promise.resolve();
  assert.equal(resolved, false);
  value = 2;
  waits.wake();
  await wait;
  assert.equal(resolved, true);
  assert.equal(waits.size, 0);
});

test('a condition that already holds resolves at once', async () => {
  const waits = new WaitUntil(() => undefined);
  await waits.until(() => true, 10_000, () => new Error('timeout'));
  assert.equal(waits.size, 0);
});

test('a failure rejects every pending wait with it, ahead of a condition that holds', async () => {
  const job: { failure?: Error } = {};
  const waits = new WaitUntil(() => job.failure);
  const first = waits.until(() => false, 10_000, () => new Error('timeout'));
  const second = waits.until(() => job.failure !== undefined, 10_000, () => new Error('timeout'));
  job.failure = Object.assign(new Error('worker lost'), { code: 'LOST' });
  waits.wake();
  await assert.rejects(first, { code: 'LOST' });
  await assert.rejects(second, { code: 'LOST' });
  assert.equal(waits.size, 0);
});

test('a wait past its deadline rejects with the timeout error and is forgotten', async () => {
  const waits = new WaitUntil(() => undefined);
  await assert.rejects(waits.until(() => false, 5, () => Object.assign(new Error('too late'), { code: 'LATE' })), { code: 'LATE', message: 'too late' });
  assert.equal(waits.size, 0);
});
