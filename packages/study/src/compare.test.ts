import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareArms, sentence } from './compare.js';

const NEVER = /no difference|no clear|not clearly|not different/i;

test('an interval excluding 0 says which arm is better, by how much, with the interval', () => {
  const c = compareArms({ name: 'BN', values: [0.97, 0.972, 0.968] }, { name: 'no BN', values: [0.9, 0.905, 0.895] });
  assert.equal(c.direction, 'higher');
  assert.ok(c.test !== null && c.test.low > 0);
  assert.match(c.sentence, /^BN \(97\.00 ± 0\.20 %\) is above no BN \(90\.00 ± 0\.50 %\) by 7\.00 points \(95 % CI \+5\.93 to \+8\.07 points, p < 0\.001\)$/);
  const reverse = compareArms(c.b, c.a);
  assert.equal(reverse.direction, 'lower');
  assert.match(reverse.sentence, /is below BN .* by 7\.00 points \(95 % CI −8\.07 to −5\.93 points/);
});

test('an interval spanning 0 says "not resolved at n = N", never "no difference", whichever mean is higher', () => {
  const c = compareArms({ name: 'a', values: [0.9, 0.95, 0.85] }, { name: 'b', values: [0.88, 0.93, 0.86] });
  assert.equal(c.direction, 'unresolved');
  assert.ok(c.test !== null && c.test.low < 0 && c.test.high > 0);
  assert.match(c.sentence, /^a \(90\.00 ± 5\.00 %\) against b \(89\.00 ± 3\.61 %\): not resolved at n = 3 \(\+1\.00 points, 95 % CI −\d+\.\d\d to \+\d+\.\d\d points, p = 0\.\d{3}\)$/);
  assert.doesNotMatch(c.sentence, NEVER);
  // Issue 19's case (docs/study/results.json, quick budget): BN after relu above no BN by 4.2 points on every seed, p = 0.058 at 3 seeds.
  const q1 = compareArms({ name: 'BN after relu', values: [0.92, 0.9066666666666666, 0.924] }, { name: 'no BN', values: [0.892, 0.8513333333333334, 0.8813333333333333] });
  assert.equal(q1.direction, 'unresolved');
  assert.match(q1.sentence, /not resolved at n = 3 \(\+4\.20 points, 95 % CI −0\.28 to \+8\.68 points, p = 0\.058\)$/);
  assert.doesNotMatch(q1.sentence, NEVER);
  assert.match(compareArms({ name: 'a', values: [0.9, 0.95, 0.85, 0.9] }, { name: 'b', values: [0.88, 0.93] }).sentence, /not resolved at n = 4 and 2/);
});

test('paired comparisons follow each pair', () => {
  const a = { name: 'own statistics', values: [0.8, 0.9, 0.7] };
  const b = { name: 'moving statistics', values: [0.85, 0.95, 0.75] };
  assert.equal(compareArms(a, b).direction, 'unresolved');
  const paired = compareArms(a, b, { paired: true });
  assert.equal(paired.direction, 'lower');
  assert.match(paired.sentence, /, paired\)$/);
});

test('an arm with fewer than 2 trained runs is not compared, and left-out runs are named', () => {
  const c = compareArms({ name: 'BN at 1', values: [0.9], failed: 2 }, { name: 'no BN at 1', values: [0.8, 0.82, 0.81] });
  assert.equal(c.test, null);
  assert.equal(c.direction, 'unresolved');
  assert.match(c.sentence, /^BN at 1 \(90\.00 ± 0\.00 %; 2 failed runs left out\) against no BN at 1 .*: not compared, an arm has fewer than 2 trained runs \(n = 1 and 3\)$/);
  assert.match(compareArms({ name: 'x', values: [], failed: 3 }, { name: 'y', values: [0.8, 0.82] }).sentence, /^x \(no run trained; 3 failed runs left out\)/);
});

test('sentence() capitalizes and closes a fragment once', () => {
  assert.equal(sentence('not resolved'), 'Not resolved.');
  assert.equal(sentence('Done.'), 'Done.');
});
