import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
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

  it('does the same in a worker thread (a rank thread), on that thread’s own heap', async () => {
    const tfjsUrl = pathToFileURL(createRequire(import.meta.url).resolve('@tensorflow/tfjs')).href;
    const backendUrl = new URL('./index.js', import.meta.url).href;
    // CommonJS eval code; the ES modules come in through dynamic import of absolute URLs.
    const code = `
      const { parentPort } = require('node:worker_threads');
      (async () => {
        const tf = await import(${JSON.stringify(tfjsUrl)});
        const { initBackend } = await import(${JSON.stringify(backendUrl)});
        const info = await initBackend('wasm');
        const x = tf.tensor4d(Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 5, 3]);
        const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)), [3, 3, 3, 4]);
        const dw = tf.grad((f) => tf.sum(tf.square(tf.conv2d(x, f, 1, 'same'))))(w);
        parentPort.postMessage({ backend: tf.getBackend(), added: info.addedKernels.length, dw: Array.from(dw.dataSync()) });
      })().catch((error) => parentPort.postMessage({ error: String(error && error.stack || error) }));
    `;
    const reply = await new Promise<{ backend?: string; added?: number; dw?: number[]; error?: string }>((resolve, reject) => {
      const worker = new Worker(code, { eval: true });
      worker.once('message', (message) => {
        resolve(message as { backend?: string; added?: number; dw?: number[]; error?: string });
        void worker.terminate();
      });
      worker.once('error', reject);
    });
    assert.equal(reply.error, undefined, reply.error);
    assert.equal(reply.backend, 'wasm');
    assert.equal(reply.added, wasmTrainingKernels.length);
    await tf.setBackend('cpu');
    const expected = tf.tidy(() => {
      const x = tf.tensor4d(Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 5, 3]);
      const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)), [3, 3, 3, 4]);
      return Array.from(tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, f as tf.Tensor4D, 1, 'same'))))(w).dataSync());
    });
    const dw = reply.dw ?? [];
    assert.equal(dw.length, expected.length);
    dw.forEach((v, i) => assert.ok(Math.abs(v - (expected[i] as number)) < 1e-3 * (1 + Math.abs(expected[i] as number)), `dW[${i}] ${v} vs ${expected[i]}`));
  });
});
