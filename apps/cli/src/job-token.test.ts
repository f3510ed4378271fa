import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readToken } from './job-token.js';

test('readToken: a missing, unreadable or empty token is CLI_ERR_TOKEN naming the file; a good one is its first line', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const empty = path.join(dir, 'empty');
  writeFileSync(empty, '\n');
  const good = path.join(dir, 'good');
  writeFileSync(good, '  s3cret  \nignored\n');
  assert.throws(() => readToken({}), { code: 'CLI_ERR_TOKEN', message: /--token-file or set TFJS_DDP_TOKEN/ });
  assert.throws(() => readToken({ file: path.join(dir, 'absent') }), { code: 'CLI_ERR_TOKEN', message: /absent: ENOENT/ });
  assert.throws(() => readToken({ file: empty }), { code: 'CLI_ERR_TOKEN', message: /is empty/ });
  assert.equal(readToken({ file: good }), 's3cret');
  assert.equal(readToken({ value: 'from-env' }), 'from-env');
});
