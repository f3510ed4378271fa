import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { webGpuUnavailable } from '@tfjs-ddp/backend';
import { CLI } from './harness/processes.js';

/**
 * `tfjs-ddp train --backend webgpu` as a user runs it: the log names the backend and the
 * adapter, warns when the adapter is a software one, and a machine whose driver offers no
 * adapter stops at once with the code and the install command (TFJS_DDP_TEST_HIDE_WEBGPU_ADAPTER
 * hides the adapter from the check, as a machine without a Vulkan driver would).
 */
const skip = await webGpuUnavailable();
const dir = mkdtempSync(path.join(tmpdir(), 'webgpu-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface LogLine { level: number; msg: string; backend?: string; device?: string }

function train(env: NodeJS.ProcessEnv = {}): { status: number | null; log: LogLine[]; stderr: string } {
  const args = [CLI, 'train', '--backend', 'webgpu', '--threads', '1', '--model', 'cnn-bn', '--dataset', 'synthetic', '--bn', 'local',
    '--max-steps', '2', '--global-batch', '16', '--out', path.join(dir, 'out')];
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  const log = run.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
  return { status: run.status, log, stderr: run.stderr };
}

test('the log names the webgpu backend and its adapter, and warns on a software adapter', { skip }, () => {
  const run = train();
  assert.equal(run.status, 0, run.stderr);
  const ready = run.log.find((l) => l.backend === 'webgpu' && l.device !== undefined);
  assert.ok(ready !== undefined, 'a log line with the backend and its device');
  assert.match(ready.msg, new RegExp(`backend webgpu on ${ready.device?.replace(/[()+.]/g, '\\$&')}: webgpu requested`));
  if (/llvmpipe/.test(ready.device ?? '')) {
    assert.ok(run.log.some((l) => l.level === 40 && /software one .* meant for testing/.test(l.msg)), 'a warning for lavapipe');
  }
});

test('no adapter: the run stops with BACKEND_ERR_NO_GPU_ADAPTER and the command that installs a driver', { skip }, () => {
  const run = train({ TFJS_DDP_TEST_HIDE_WEBGPU_ADAPTER: '1' });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /found no adapter.*apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1.*\[BACKEND_ERR_NO_GPU_ADAPTER\]/);
});
