import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkWebGpuAdapter, isSoftwareAdapter, type AdapterInfoLike, type GpuLike } from './webgpu-adapter.js';

/** A `navigator.gpu` that offers `info` as its adapter (null: none), so the check runs without a driver. */
function fakeGpu(info: AdapterInfoLike | null): GpuLike {
  return { requestAdapter: () => Promise.resolve(info === null ? null : { info }) };
}

// As Dawn describes Mesa 25's lavapipe (read on this machine).
const LAVAPIPE: AdapterInfoLike = {
  vendor: 'mesa',
  architecture: 'software',
  device: 'llvmpipe-llvm-15-0-6-256-bits-',
  description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
  isFallbackAdapter: true,
};

test('no adapter is an error that says what to install', async () => {
  await assert.rejects(checkWebGpuAdapter(fakeGpu(null)), {
    code: 'BACKEND_ERR_NO_GPU_ADAPTER',
    message: /found no adapter.*apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1/,
  });
});

test('lavapipe is a software adapter, by any of the fields that say so', async () => {
  const adapter = await checkWebGpuAdapter(fakeGpu(LAVAPIPE));
  assert.deepEqual(adapter, { description: 'mesa: llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1', software: true });
  // Older Dawn builds fill fewer fields: the name alone must still give it away.
  assert.equal(isSoftwareAdapter({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }), true);
  assert.equal(isSoftwareAdapter({ vendor: 'google', device: 'SwiftShader Device (Subzero)' }), true);
});

test('a hardware adapter is not flagged', async () => {
  const adapter = await checkWebGpuAdapter(fakeGpu({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3' }));
  assert.deepEqual(adapter, { description: 'nvidia: NVIDIA H100 80GB HBM3', software: false });
  assert.equal((await checkWebGpuAdapter(fakeGpu({}))).description, 'an adapter that does not describe itself');
});
