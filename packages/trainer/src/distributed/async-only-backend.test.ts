import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asyncOnlyBackendRefusal } from './async-only-backend.js';

test('webgpu: SyncBN across ranks and BN recalibration are refused, saying what to use instead', () => {
  assert.match(asyncOnlyBackendRefusal('webgpu', 4, 'off') ?? '', /SyncBN across 4 ranks .*webgpu.*use --bn local/);
  assert.match(asyncOnlyBackendRefusal('webgpu', 1, 'epoch') ?? '', /--bn-recalibrate epoch.*use --bn-recalibrate off/);
  assert.match(asyncOnlyBackendRefusal('webgpu', 1, 'end') ?? '', /--bn-recalibrate end/);
  assert.equal(asyncOnlyBackendRefusal('webgpu', 1, 'off'), undefined, '--bn local without recalibration runs');
});

test('backends that read back synchronously are never refused', () => {
  for (const backend of ['wasm', 'cpu', 'tensorflow']) assert.equal(asyncOnlyBackendRefusal(backend, 4, 'epoch'), undefined);
});
