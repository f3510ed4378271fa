import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BackendError } from './errors.js';
import { registerWasmTrainingKernels, wasmTrainingKernels } from './kernels/index.js';
import { backendInfo, initBackend } from './select-backend.js';

describe('initBackend', () => {
  it('loads wasm from the installed package, with every training kernel registered', async () => {
    const info = await initBackend('wasm');
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(backendInfo(), info);
    for (const config of wasmTrainingKernels) {
      assert.equal(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc, config.kernelFunc, config.kernelName);
    }
    // A kernel runs: the binaries were found and instantiated.
    assert.deepEqual(Array.from(tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync())), [3, 3, 3, 3]);
  });

  it('registers kernels idempotently (every rank thread calls it)', async () => {
    await initBackend('wasm');
    assert.deepEqual(registerWasmTrainingKernels(), []);
    const again = await initBackend('wasm');
    assert.deepEqual(again.addedKernels, []);
  });

  it('refuses an unknown backend name with BACKEND_ERR_UNKNOWN_NAME', async () => {
    await assert.rejects(initBackend('tpu'), (e: unknown) => e instanceof BackendError && e.code === 'BACKEND_ERR_UNKNOWN_NAME');
  });

  it('falls back automatically past native backends that are not installed', async () => {
    const info = await initBackend('auto');
    assert.ok(['node-gpu', 'node', 'wasm', 'cpu'].includes(info.name));
    const native = info.attempts.filter((a) => a.name === 'node-gpu' || a.name === 'node');
    assert.ok(native.every((a) => a.ok === (a.name === info.name)), JSON.stringify(info.attempts));
  });
});
