import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareArms, sentence } from './compare.js';

test('a clear difference says so, with its size and p', () => {
  const c = compareArms({ name: 'BN', values: [0.97, 0.972, 0.968] }, { name: 'no BN', values: [0.9, 0.905, 0.895] });
  assert.equal(c.direction, 'higher');
  assert.ok(c.clear);
  assert.match(c.sentence, /^BN \(97\.00 ± 0\.20 %\) is clearly above no BN \(90\.00 ± 0\.50 %\) \(\+7\.00 points, p < 0\.001\)$/);
  assert.equal(compareArms(c.b, c.a).direction, 'lower');
});

test('overlapping seeds give "no clear difference", whichever mean is higher', () => {
  const c = compareArms({ name: 'a', values: [0.9, 0.95, 0.85] }, { name: 'b', values: [0.88, 0.93, 0.86] });
  assert.equal(c.direction, 'unclear');
  assert.match(c.sentence, /^no clear difference between a \(90\.00 ± 5\.00 %\) and b \(89\.00 ± 3\.61 %\) \(\+1\.00 points, p = 0\.\d{3}\)$/);
});

test('paired comparisons follow each pair', () => {
  const a = { name: 'own statistics', values: [0.8, 0.9, 0.7] };
  const b = { name: 'moving statistics', values: [0.85, 0.95, 0.75] };
  assert.equal(compareArms(a, b).direction, 'unclear');
  const paired = compareArms(a, b, { paired: true });
  assert.equal(paired.direction, 'lower');
  assert.match(paired.sentence, /, paired\)$/);
});

test('sentence() capitalizes and closes a fragment once', () => {
  assert.equal(sentence('no clear difference'), 'No clear difference.');
  assert.equal(sentence('Done.'), 'Done.');
});
