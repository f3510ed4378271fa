import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pinnedDeviceEnv } from './device-pinning.js';

test('without CUDA_VISIBLE_DEVICES, rank process i sees device i only', () => {
  assert.deepEqual(pinnedDeviceEnv(0, 2, {}), { CUDA_VISIBLE_DEVICES: '0', TFJS_DDP_GPU_INDEX: '0' });
  assert.deepEqual(pinnedDeviceEnv(1, 2, {}), { CUDA_VISIBLE_DEVICES: '1', TFJS_DDP_GPU_INDEX: '1' });
});

test("with a list, rank process i gets the list's i-th device, never one outside it", () => {
  assert.deepEqual(pinnedDeviceEnv(1, 2, { CUDA_VISIBLE_DEVICES: '5, 7' }), { CUDA_VISIBLE_DEVICES: '7', TFJS_DDP_GPU_INDEX: '7' });
  assert.deepEqual(pinnedDeviceEnv(0, 1, { CUDA_VISIBLE_DEVICES: 'GPU-8a1b' }), { CUDA_VISIBLE_DEVICES: 'GPU-8a1b' });
  assert.throws(() => pinnedDeviceEnv(0, 3, { CUDA_VISIBLE_DEVICES: '0,1' }), { code: 'WORKER_ERR_BAD_OPTION' });
});

test('an empty CUDA_VISIBLE_DEVICES (no GPU allowed) stays empty', () => {
  assert.deepEqual(pinnedDeviceEnv(1, 2, { CUDA_VISIBLE_DEVICES: '' }), { CUDA_VISIBLE_DEVICES: '' });
});
