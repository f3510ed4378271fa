import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadCsvDatasets, parseCsvSpec } from './csv-dataset.js';
import { DataError } from './errors.js';
import { heldOutOf, openDataset } from './open-dataset.js';

const dir = mkdtempSync(path.join(tmpdir(), 'csv-test-'));
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** All samples of a data set, in order. */
function samples(d: { size: number; batch(i: Int32Array): { x: Float32Array; y: Int32Array } }): { x: number[]; y: number[] } {
  const b = d.batch(Int32Array.from({ length: d.size }, (_, i) => i));
  return { x: [...b.x], y: [...b.y] };
}

test('a small CSV round-trips: features in column order without the label, labels, shapes', () => {
  const train = file('train.csv', 'a,label,b\n1.5,0,-2\n0.25,2,3e2\n\n-1,1,0\n');
  const { train: d, test: t } = loadCsvDatasets(parseCsvSpec(`csv:${train}`));
  assert.equal(t, undefined);
  assert.deepEqual(d.inputShape, [2]);
  assert.equal(d.numClasses, 3);
  assert.deepEqual(samples(d), { x: [1.5, -2, 0.25, 300, -1, 0], y: [0, 2, 1] });
});

test('quoted fields, CRLF line ends, a BOM and a named label column (#column=NAME)', () => {
  const train = file('quoted.csv', '\uFEFF"x, first","class"\r\n"1.5",1\r\n2,"0"\r\n');
  const { train: d } = loadCsvDatasets(parseCsvSpec(`csv:${train}#column=class`));
  assert.deepEqual(samples(d), { x: [1.5, 2], y: [1, 0] });
  assert.deepEqual(parseCsvSpec('csv:a.csv,b.csv#column=y'), { train: 'a.csv', test: 'b.csv', labelColumn: 'y' });
});

test('without a test file openDataset holds out a seeded validation split; with one, both files share numClasses', () => {
  const rows = Array.from({ length: 30 }, (_, i) => `${i},${i * 2},${i % 3}`).join('\n');
  const train = file('split.csv', `f,g,label\n${rows}\n`);
  const pair = openDataset(`csv:${train}`, 7);
  assert.equal(pair.train.size + pair.test.size, 30);
  assert.equal(pair.test.size, 3);
  assert.equal(openDataset(`csv:${train}`, 7).train.fingerprint(), pair.train.fingerprint());
  assert.match(heldOutOf(`csv:${train}`), /validation split/);

  const testFile = file('test.csv', 'f,g,label\n5,6,4\n');
  const withTest = openDataset(`csv:${train},${testFile}`, 7);
  assert.equal(withTest.train.size, 30);
  assert.deepEqual(samples(withTest.test), { x: [5, 6], y: [4] });
  assert.equal(withTest.train.numClasses, 5);
  assert.equal(withTest.test.numClasses, 5);
  assert.equal(heldOutOf(`csv:${train},${testFile}`), 'the test file');
  const otherColumns = file('other.csv', 'g,f,label\n1,2,0\n');
  assert.throws(() => openDataset(`csv:${train},${otherColumns}`), (e: unknown) => e instanceof DataError && e.code === 'DATA_ERR_SHAPE');
});

test('a bad row is a DataError naming the file and its 1-based line', () => {
  const cases: [string, string, DataError['code']][] = [
    ['a,b,label\n1,2,0\n1,2\n', 'short row', 'DATA_ERR_CSV'],
    ['a,b,label\n1,2,0\n1,2,3,4\n', 'long row', 'DATA_ERR_CSV'],
    ['a,b,label\n1,2,0\n1,x,0\n', 'non-numeric feature', 'DATA_ERR_CSV'],
    ['a,b,label\n1,2,0\n1,,0\n', 'empty feature', 'DATA_ERR_CSV'],
    ['a,b,label\n1,2,0\n1,2,1.5\n', 'non-integer label', 'DATA_ERR_LABEL'],
    ['a,b,label\n1,2,0\n1,2,-1\n', 'negative label', 'DATA_ERR_LABEL'],
    ['a,b,label\n1,2,0\n1,2,"0\n', 'unclosed quote', 'DATA_ERR_CSV'],
    ['a,b,label\n\n1,x,0\n', 'a blank line is still counted', 'DATA_ERR_CSV'],
    ['a,b,label\r\n1,2,0\r\n1,2,1e9\r\n', 'label too large (CRLF)', 'DATA_ERR_LABEL'],
  ];
  cases.forEach(([text, what, code], i) => {
    const p = file(`bad-${i}.csv`, text);
    assert.throws(
      () => openDataset(`csv:${p}`),
      (e: unknown) => e instanceof DataError && e.code === code && e.message.startsWith(`${p}:3:`),
      what,
    );
  });
  const noLabel = file('no-label.csv', 'a,b\n1,2\n');
  assert.throws(() => openDataset(`csv:${noLabel}`), /exactly one "label" column/);
  assert.throws(() => openDataset(`csv:${path.join(dir, 'missing.csv')}`), (e: unknown) => e instanceof DataError && e.code === 'DATA_ERR_FILE');
  assert.throws(() => parseCsvSpec('csv:a.csv,b.csv,c.csv'), (e: unknown) => e instanceof DataError && e.code === 'DATA_ERR_UNKNOWN_DATASET');
});
