import assert from 'node:assert/strict';
import { test } from 'node:test';
import { threadBackend } from './thread-backend.js';

test('several rank threads: auto may not claim a native backend, and a named one is refused', () => {
  const { request, options } = threadBackend('auto', 4);
  assert.equal(request, 'auto');
  assert.match(options.nativeRefused ?? '', /4 rank threads share this process .*--procs 4/);
  assert.throws(() => threadBackend('node-gpu', 2), { code: 'WORKER_ERR_NATIVE_THREADS', message: /--procs/ });
  assert.deepEqual(threadBackend('wasm', 2, true).request, 'wasm');
});

test('one rank thread (a rank process) may take any backend; --allow-cpu reaches it', () => {
  assert.deepEqual(threadBackend('auto', 1), { request: 'auto', options: { allowCpu: false } });
  assert.deepEqual(threadBackend('node-gpu', 1, true), { request: 'node-gpu', options: { allowCpu: true } });
});
