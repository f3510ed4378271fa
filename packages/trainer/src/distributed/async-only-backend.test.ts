import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asyncOnlyBackendRefusal } from './async-only-backend.js';

test('webgpu: SyncBN across ranks is refused, saying what to use instead', () => {
  assert.match(asyncOnlyBackendRefusal('webgpu', 4) ?? '', /SyncBN across 4 ranks .*webgpu.*use --bn local/);
  assert.equal(asyncOnlyBackendRefusal('webgpu', 1), undefined, '--bn local (a group of one) runs');
});

test('backends that read back synchronously are never refused', () => {
  for (const backend of ['wasm', 'cpu', 'tensorflow']) assert.equal(asyncOnlyBackendRefusal(backend, 4), undefined);
});
