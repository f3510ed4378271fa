import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HIDE_ADAPTER_ENV, webGpuUnavailable } from './load-webgpu.js';

// Each case runs in a child process: loading WebGPU sets globals (navigator.gpu) for good.
const INDEX = fileURLToPath(new URL('../index.js', import.meta.url));
const skip = await webGpuUnavailable();

function initIn(child: string, env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const script = `import * as tf from '@tensorflow/tfjs';
    import { initBackend, releaseWebGpu } from ${JSON.stringify(INDEX)};
    try {
      const info = await initBackend('webgpu');
      ${child}
      releaseWebGpu();
    } catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('webgpu loads, names its adapter, warns on a software one and computes', { skip }, () => {
  const run = initIn(`const y = tf.conv2d(tf.ones([1, 4, 4, 2]), tf.ones([3, 3, 2, 1]), 1, 'same');
    console.log(JSON.stringify({ info, y: Array.from(await y.data()), tfBackend: tf.getBackend() }));`);
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as {
    info: { name: string; reason: string; device?: string; warning?: string }; y: number[]; tfBackend: string;
  };
  assert.equal(out.tfBackend, 'webgpu');
  assert.equal(out.info.name, 'webgpu');
  // The device is its own field (the log line puts it beside the reason): the adapter's description.
  assert.ok(out.info.device !== undefined && out.info.device.trim() !== '' && !out.info.device.startsWith('CPU ('), `device: ${out.info.device}`);
  assert.equal(out.info.reason, 'webgpu requested');
  if (/llvmpipe/.test(out.info.device)) assert.match(out.info.warning ?? '', /software/);
  assert.deepEqual(out.y, [8, 12, 12, 8, 12, 18, 18, 12, 12, 18, 18, 12, 8, 12, 12, 8]);
});

test('a machine whose driver offers no adapter gets a loud error with the install command', { skip }, () => {
  const run = initIn('console.log("loaded");', { [HIDE_ADAPTER_ENV]: '1' });
  const out = JSON.parse(run.stdout.trim()) as { code: string; message: string };
  assert.equal(out.code, 'BACKEND_ERR_NO_GPU_ADAPTER');
  assert.match(out.message, /webgpu: WebGPU \(Dawn\) found no adapter.*mesa-vulkan-drivers/);
});
