import assert from 'node:assert/strict';
import { test } from 'node:test';
import { webGpuUnavailable } from '@tfjs-ddp/backend';
import type { TrainConfig } from '@tfjs-ddp/trainer';
import { runLocalJob } from '@tfjs-ddp/worker';
import { compareWithReference, groupedReferenceRun, withinTolerance } from './harness/reference.js';
import { threadedRun } from './harness/threaded-run.js';

/**
 * `--backend webgpu` in a real job: 2 rank threads, each on its own WebGPU device (on
 * CI: Mesa's lavapipe, the CPU Vulkan driver), train the BN CNN with `--bn local` and
 * the gradient all-reduce, and equal one wasm replica that normalizes each shard on its
 * own (groupedReferenceRun), also when the BN statistics are recalibrated at the end. The gradients are read back asynchronously after backward
 * (the trainer's settleReads). Tolerance 1e-5 on |a - b| / (1 + |b|), as the wasm
 * equivalence tests: WebGPU's shaders sum in another order than wasm's kernels, yet
 * measured here on lavapipe the maxima after 4 steps were loss 7.4e-8 and weights
 * 6.0e-8 (SGD) and 2.5e-7 (Adam).
 * Without a Vulkan driver Dawn accepts, these tests are skipped with the install command.
 */
const TOLERANCE = 1e-5;
const skip = await webGpuUnavailable();

function config(optimizer: 'sgd' | 'adam', bnRecalibrate: 'off' | 'end' = 'off'): TrainConfig {
  const learningRate = optimizer === 'sgd' ? 0.05 : 0.003;
  // Without recalibration the moving statistics compared are the per-shard ones, averaged over the ranks at the end.
  return { model: 'cnn-bn', dataset: 'synthetic', epochs: 1, globalBatch: 16, optimizer: { name: optimizer, learningRate }, seed: 21, maxSteps: 4, bnRecalibrate };
}

for (const optimizer of ['sgd', 'adam'] as const) {
  test(`webgpu, 2 rank threads, --bn local: equals one wasm model normalizing each shard on its own (${optimizer})`, { skip }, async (t) => {
    const cfg = config(optimizer);
    const run = await threadedRun(cfg, 2, 'local', undefined, 'webgpu');
    const diff = compareWithReference(t, `webgpu local ${optimizer}`, run, await groupedReferenceRun(cfg, 2, 1));
    assert.ok(...withinTolerance(`webgpu local ${optimizer}`, diff, TOLERANCE));
  });
}

test('webgpu, 2 rank threads: BN recalibration at the end (read back asynchronously) equals the reference\'s', { skip }, async (t) => {
  const cfg = config('sgd', 'end');
  const run = await threadedRun(cfg, 2, 'local', undefined, 'webgpu');
  const diff = compareWithReference(t, 'webgpu local, recalibrated', run, await groupedReferenceRun(cfg, 2, 1));
  assert.ok(...withinTolerance('webgpu local, recalibrated', diff, TOLERANCE));
});

test('webgpu refuses what it cannot run yet before any rank starts, with a code and what to use instead', { skip }, async () => {
  const job = (bnMode: string) => runLocalJob({ config: config('sgd'), threads: 2, bnMode, backend: 'webgpu' });
  const refused = (message: RegExp) => ({ code: 'WORKER_ERR_BAD_OPTION', message });
  await assert.rejects(job('sync'), refused(/SyncBN across 2 ranks .* does not run on the webgpu backend yet.*use --bn local/));
  await assert.rejects(job('sync:2'), refused(/SyncBN across 2 ranks/));
});
