import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { MODEL_JSON, WEIGHTS_BIN, writeModelFolder } from './model-folder.js';

test('a model folder is written whole, and a rewrite replaces both files', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'model-folder-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await writeModelFolder(dir, '{"v":1}', new Uint8Array([1, 2, 3]));
  await writeModelFolder(dir, '{"v":2}', new Uint8Array([4, 5]));
  assert.equal(readFileSync(path.join(dir, MODEL_JSON), 'utf8'), '{"v":2}');
  assert.deepEqual([...readFileSync(path.join(dir, WEIGHTS_BIN))], [4, 5]);
  assert.deepEqual(readdirSync(dir).sort(), [MODEL_JSON, WEIGHTS_BIN]);
});

test('a failed rewrite throws JOB_ERR_WRITE, keeps the old model.json and leaves no temp folder', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'model-folder-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await writeModelFolder(dir, '{"v":1}', new Uint8Array([1]));
  // A real fault: a non-empty folder where weights.bin goes makes its rename fail (EISDIR / ENOTEMPTY).
  rmSync(path.join(dir, WEIGHTS_BIN));
  mkdirSync(path.join(dir, WEIGHTS_BIN, 'x'), { recursive: true });
  await assert.rejects(writeModelFolder(dir, '{"v":2}', new Uint8Array([2])), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'JOB_ERR_WRITE');
    assert.match(error.message, /the model folder .* was not written: /);
    return true;
  });
  assert.equal(readFileSync(path.join(dir, MODEL_JSON), 'utf8'), '{"v":1}');
  assert.deepEqual(readdirSync(dir).sort(), [MODEL_JSON, WEIGHTS_BIN]);
});
