import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { backendInfo, initBackend } from './select-backend.js';

async function nativeLoads(specifier: string): Promise<boolean> {
  try {
    await import(specifier);
    return true;
  } catch {
    // Absent or present-but-broken (no libtensorflow): either way it cannot be chosen.
    return false;
  }
}

test('auto takes the fastest backend that loads and says why the faster ones did not', async () => {
  const gpu = await nativeLoads('@tensorflow/tfjs-node-gpu');
  const node = await nativeLoads('@tensorflow/tfjs-node');
  const info = await initBackend('auto');
  assert.equal(backendInfo(), info);
  const expected = gpu ? 'node-gpu' : node ? 'node' : 'wasm';
  assert.equal(info.name, expected);
  assert.equal(tf.getBackend(), expected === 'wasm' ? 'wasm' : 'tensorflow');
  const failed = info.attempts.filter((a) => !a.ok).map((a) => a.name);
  assert.deepEqual(failed, [...(gpu ? [] : ['node-gpu']), ...(gpu || node ? [] : ['node'])]);
  for (const attempt of info.attempts.filter((a) => !a.ok)) {
    assert.ok(info.reason.includes(attempt.detail), 'the reason names each failure');
  }
  if (info.name === 'wasm') {
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm') !== undefined, 'training kernels registered');
  }
});

test('a named backend must load: no silent fallback', async () => {
  const info = await initBackend('cpu');
  assert.equal(info.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(info.reason, 'cpu requested');
  if (!(await nativeLoads('@tensorflow/tfjs-node'))) {
    await assert.rejects(initBackend('node'), { code: 'BACKEND_ERR_UNAVAILABLE', message: /node: / });
    assert.equal(tf.getBackend(), 'cpu', 'a failed choice leaves the current backend in place');
  }
  await assert.rejects(initBackend('metal'), { code: 'BACKEND_ERR_UNKNOWN_NAME', message: /allowed: auto, node-gpu, node, wasm, cpu, webgpu/ });
});

test('auto in a process of several rank threads never claims a native backend, and says why it skipped them', async () => {
  const why = '2 rank threads share this process and native backends need one process per rank (--procs 2)';
  const info = await initBackend('auto', { nativeRefused: why });
  assert.equal(info.name, 'wasm');
  assert.equal(info.device, 'CPU (wasm)');
  assert.deepEqual(info.attempts.slice(0, 2), [
    { name: 'node-gpu', ok: false, detail: `not tried: ${why}` },
    { name: 'node', ok: false, detail: `not tried: ${why}` },
  ]);
  assert.match(info.reason, /^wasm chosen automatically \(unavailable: node-gpu: not tried: 2 rank threads share this process/);
  await assert.rejects(initBackend('node-gpu', { nativeRefused: why }), { code: 'BACKEND_ERR_UNAVAILABLE', message: /node-gpu: 2 rank threads/ });
});
