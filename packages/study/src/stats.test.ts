import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mean, pairedTTest, std, studentTwoSidedP, welchTTest } from './stats.js';

const close = (actual: number, expected: number, tolerance: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual}, expected ${expected}`);

test('mean and sample standard deviation', () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  close(std([2, 4, 4, 4, 5, 5, 7, 9]), 2.138089935, 1e-9, 'std (n - 1)');
  assert.equal(std([3]), 0);
});

test("Student's t two-sided p-values match known quantiles", () => {
  close(studentTwoSidedP(1, 1), 0.5, 1e-12, 't=1, df=1 (Cauchy)');
  close(studentTwoSidedP(2.776445105, 4), 0.05, 1e-7, 't_0.975 with df=4');
  close(studentTwoSidedP(12.70620474, 1), 0.05, 1e-7, 't_0.975 with df=1');
  close(studentTwoSidedP(1.959963985, 1e7), 0.05, 1e-5, 'normal limit');
  assert.equal(studentTwoSidedP(0, 3), 1);
});

test("Welch's test as scipy.stats.ttest_ind(equal_var=False) computes it", () => {
  // scipy: ttest_ind([1, 2, 3], [4, 5, 6], equal_var=False) -> t = -3.6742, p = 0.021312
  const r = welchTTest([1, 2, 3], [4, 5, 6]);
  close(r.t, -3.674234614, 1e-8, 't');
  close(r.degreesOfFreedom, 4, 1e-12, 'df');
  close(r.p, 0.0213116, 1e-6, 'p');
  // Unequal spreads: df falls below n_a + n_b - 2.
  const u = welchTTest([0.91, 0.93, 0.92], [0.5, 0.9, 0.7]);
  assert.ok(u.degreesOfFreedom < 4 && u.degreesOfFreedom > 2, `df ${u.degreesOfFreedom}`);
  assert.ok(u.p > 0.05, 'a wide arm gives no clear difference');
  assert.equal(welchTTest([0.5, 0.5], [0.5, 0.5]).p, 1, 'identical constant arms');
  assert.equal(welchTTest([0.6, 0.6], [0.5, 0.5]).p, 0, 'different constant arms');
});

test('paired test uses the per-pair differences', () => {
  // The arms overlap, but every pair moves up by about 0.01.
  const a = [0.9, 0.95, 0.8];
  const b = [0.891, 0.939, 0.79];
  assert.ok(welchTTest(a, b).p > 0.5);
  const r = pairedTTest(a, b);
  assert.ok(r.p < 0.01, `paired p ${r.p}`);
  assert.equal(r.degreesOfFreedom, 2);
  assert.throws(() => pairedTTest([1], [1, 2]), RangeError);
});
