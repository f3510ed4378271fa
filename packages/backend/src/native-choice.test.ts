import assert from 'node:assert/strict';
import { register } from 'node:module';
import { test } from 'node:test';
import { initBackend } from './select-backend.js';
import { FAKE_GPU_FLAG } from './testing/fake-node-gpu.js';

/**
 * The choice among backends when `@tensorflow/tfjs-node-gpu` loads, with a stand-in for it
 * (testing/fake-node-gpu.ts: the real one cannot be installed here) imported through
 * initBackend's own `import()`: a GPU build that finds no GPU ends the choice with
 * BACKEND_ERR_NO_GPU, never passing on to a slower backend, unless the CPU is allowed.
 */
register('./testing/fake-node-gpu-hooks.js', import.meta.url);
const flags = globalThis as Record<string, unknown>;

test('auto with tfjs-node-gpu and no GPU: refused, no silent fallback to wasm', async () => {
  flags[FAKE_GPU_FLAG] = false;
  await assert.rejects(initBackend('auto'), { code: 'BACKEND_ERR_NO_GPU', message: /found no usable GPU .*--allow-cpu/ });
  await assert.rejects(initBackend('node-gpu'), { code: 'BACKEND_ERR_NO_GPU' });
});

test('auto with tfjs-node-gpu and no GPU, CPU allowed: node-gpu on the CPU, said so', async () => {
  flags[FAKE_GPU_FLAG] = false;
  const info = await initBackend('auto', { allowCpu: true });
  assert.equal(info.name, 'node-gpu');
  assert.match(info.device, /^CPU: @tensorflow\/tfjs-node-gpu found no GPU .*--allow-cpu$/);
});

test('auto with tfjs-node-gpu on a GPU: node-gpu, naming the device pinned to the process', async () => {
  flags[FAKE_GPU_FLAG] = true;
  const before = process.env.CUDA_VISIBLE_DEVICES;
  process.env.CUDA_VISIBLE_DEVICES = '3';
  try {
    const info = await initBackend('auto');
    assert.equal(info.name, 'node-gpu');
    assert.equal(info.device, 'GPU (CUDA_VISIBLE_DEVICES=3)');
    assert.equal(info.reason, 'node-gpu is the fastest backend available');
  } finally {
    if (before === undefined) delete process.env.CUDA_VISIBLE_DEVICES;
    else process.env.CUDA_VISIBLE_DEVICES = before;
  }
});
