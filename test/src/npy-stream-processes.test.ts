import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Coordinator } from '@tfjs-ddp/coordinator';
import { encodeNpy, mulberry32, NPY_STREAM_BYTES_ENV } from '@tfjs-ddp/data';
import type { JobConfig } from '@tfjs-ddp/protocol';
import { compareWithReference, referenceRun, stepLosses, withinTolerance } from './harness/reference.js';
import { savedWeights, startCli } from './harness/processes.js';

/**
 * A worker process that streams an `npy:` file from disk joins a coordinator that loaded
 * the same file into memory: their fingerprints of the training split agree (else the
 * worker refuses, WORKER_ERR_DATA_MISMATCH), and the job trains what one replica on the
 * whole batch trains (within 1e-5, as in multiprocess.test).
 */
test('a worker streaming an npy file from disk trains with a coordinator that loaded it, as one replica would', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'npy-stream-processes-'));
  try {
    const n = 120;
    const random = mulberry32(21);
    const images = Uint8Array.from({ length: n * 10 * 10 }, () => Math.floor(random() * 256));
    writeFileSync(path.join(dir, 'x.npy'), encodeNpy(images, [n, 10, 10]));
    writeFileSync(path.join(dir, 'y.npy'), encodeNpy(Int32Array.from({ length: n }, (_, i) => (images[i * 100] as number) % 3), [n]));
    writeFileSync(path.join(dir, 'token'), 'test-token\n');
    const config: JobConfig = {
      model: 'cnn-bn',
      dataset: `npy:${path.join(dir, 'x.npy')},${path.join(dir, 'y.npy')}`,
      epochs: 1,
      globalBatch: 12,
      optimizer: { name: 'sgd', learningRate: 0.05 },
      seed: 7,
      maxSteps: 4,
    };
    const out = path.join(dir, 'out');
    const coordinator = await Coordinator.start({ port: 0, host: '127.0.0.1', token: 'test-token', workers: 1, config, outDir: out, waitTimeoutMs: 60_000 });
    const args = ['worker', '--coordinator', `ws://127.0.0.1:${coordinator.port}`, '--token-file', path.join(dir, 'token'), '--threads', '2', '--dataset', config.dataset];
    const worker = startCli([...args, '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--backend', 'wasm'], { env: { [NPY_STREAM_BYTES_ENV]: '0' } });
    try {
      const result = await coordinator.run();
      assert.equal(result.steps, config.maxSteps);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- worker output ---\n${worker.output()}`);
    } finally {
      worker.kill();
    }
    const diff = compareWithReference(t, 'streamed worker', { weights: savedWeights(out), losses: stepLosses(out) }, await referenceRun(config));
    assert.ok(...withinTolerance('streamed worker', diff, 1e-5));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
