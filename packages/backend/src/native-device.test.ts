import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nativeDevice } from './native-device.js';

// tfjs-node-gpu cannot be installed here (its install downloads libtensorflow): a fake backend object stands in for it.
test('tfjs-node-gpu on a GPU names the device pinned to this process', () => {
  assert.equal(nativeDevice('node-gpu', { isUsingGpuDevice: true }, { env: { CUDA_VISIBLE_DEVICES: '1' } }), 'GPU (CUDA_VISIBLE_DEVICES=1)');
  assert.equal(nativeDevice('node-gpu', { isUsingGpuDevice: true }, { env: {} }), 'GPU (every GPU visible)');
});

test('tfjs-node-gpu that found no GPU is refused, unless the CPU is allowed', () => {
  for (const probe of [{ isUsingGpuDevice: false }, {}]) {
    assert.throws(() => nativeDevice('node-gpu', probe, { env: { CUDA_VISIBLE_DEVICES: '0' } }), { code: 'BACKEND_ERR_NO_GPU', message: /--allow-cpu/ });
  }
  assert.match(nativeDevice('node-gpu', { isUsingGpuDevice: false }, { allowCpu: true, env: {} }), /^CPU: .*found no GPU/);
  assert.equal(nativeDevice('node', {}), 'CPU (TensorFlow native)');
});
