import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@tfjs-ddp/data';
import { mean, pairedTTest, std, studentCritical, studentTwoSidedP, welchTTest } from './stats.js';

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

// Student's sleep data (Cushny and Peebles), the textbook example of R's t.test: extra hours
// of sleep of the same 10 patients under two drugs.
const SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0, 2];
const SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

test("95 % intervals match R's t.test on the sleep data, paired and Welch", () => {
  // R: t.test(extra ~ group, data = sleep, paired = TRUE): t = -4.0621, df = 9, p = 0.002833, CI -2.4598858 -0.7001142
  const paired = pairedTTest(SLEEP_1, SLEEP_2);
  close(paired.difference, -1.58, 1e-12, 'paired difference');
  close(paired.low, -2.4598858, 1e-6, 'paired low');
  close(paired.high, -0.7001142, 1e-6, 'paired high');
  close(paired.p, 0.002833, 1e-6, 'paired p');
  // R: t.test(extra ~ group, data = sleep): t = -1.8608, df = 17.776, p = 0.07939, CI -3.3654832 0.2054832
  const welch = welchTTest(SLEEP_1, SLEEP_2);
  close(welch.degreesOfFreedom, 17.776, 1e-3, 'Welch df');
  close(welch.low, -3.3654832, 1e-6, 'Welch low');
  close(welch.high, 0.2054832, 1e-6, 'Welch high');
  close(welch.p, 0.07939, 1e-5, 'Welch p');
  // By hand: -3 ± t_0.975(4) × sqrt(1/3 + 1/3) = -3 ± 2.776445105 × 0.816496581 = -3 ± 2.266958.
  const small = welchTTest([1, 2, 3], [4, 5, 6]);
  close(small.low, -5.266958, 1e-6, 'small low');
  close(small.high, -0.733042, 1e-6, 'small high');
  assert.throws(() => welchTTest([1], [1, 2]), RangeError);
  assert.throws(() => pairedTTest([1], [2]), RangeError);
});

test('critical values invert the p-value: tables, and the normal limit', () => {
  close(studentCritical(0.05, 1), 12.70620474, 1e-7, 't_0.975, df 1');
  close(studentCritical(0.05, 2), 4.30265273, 1e-7, 't_0.975, df 2');
  close(studentCritical(0.05, 4), 2.776445105, 1e-8, 't_0.975, df 4');
  close(studentCritical(0.01, 10), 3.169272673, 1e-8, 't_0.995, df 10');
  close(studentCritical(0.05, 1e7), 1.959963985, 1e-5, 'normal limit');
  assert.throws(() => studentCritical(0, 3), RangeError);
});

test('the Welch interval covers the true difference about 95 % of the time (seeded simulation)', () => {
  // A check by another route than the formulas: draw many small unequal-spread samples
  // whose true difference is known, and count how often the interval holds it.
  const random = mulberry32(7);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const trials = 4000;
  let covered = 0;
  for (let i = 0; i < trials; i++) {
    const a = Array.from({ length: 5 }, () => 0.9 + 0.01 * normal());
    const b = Array.from({ length: 4 }, () => 0.88 + 0.03 * normal());
    const r = welchTTest(a, b);
    if (r.low <= 0.02 && 0.02 <= r.high) covered++;
  }
  // Binomial sd of the rate at 4000 trials is 0.0034; Welch's df approximation is itself slightly off.
  close(covered / trials, 0.95, 0.015, 'coverage');
});
