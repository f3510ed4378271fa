import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { test } from 'node:test';
import { encodeNpy, NPY_STREAM_BYTES_ENV, openDataset, openSharedDataset } from '@tfjs-ddp/data';
import { loadSharedDataset } from './load-dataset.js';

test('the data set arrives in shared memory with the fingerprint the coordinator compares', async () => {
  const loaded = await loadSharedDataset({ spec: 'synthetic', seed: 3 }, 60_000);
  const here = openDataset('synthetic', 3);
  assert.equal(loaded.fingerprint, here.train.fingerprint());
  assert.ok(loaded.train.kind === 'arrays' && loaded.train.x instanceof SharedArrayBuffer);
  assert.equal(openSharedDataset(loaded.train).fingerprint(), here.train.fingerprint());
  assert.equal(openSharedDataset(loaded.test).size, here.test.size);
});

test('a streamed npy data set arrives as its path, with the fingerprint of the same files loaded in memory', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'load-dataset-npy-'));
  try {
    writeFileSync(path.join(dir, 'x.npy'), encodeNpy(Uint8Array.from({ length: 50 * 16 }, (_, i) => (i * 37) % 256), [50, 4, 4]));
    writeFileSync(path.join(dir, 'y.npy'), encodeNpy(Int32Array.from({ length: 50 }, (_, i) => i % 3), [50]));
    const spec = `npy:${path.join(dir, 'x.npy')},${path.join(dir, 'y.npy')}`;
    const here = openDataset(spec, 2);
    // The data set thread reads the environment as it starts: lowered, it streams the small file.
    process.env[NPY_STREAM_BYTES_ENV] = '0';
    const loaded = await loadSharedDataset({ spec, seed: 2 }, 60_000).finally(() => delete process.env[NPY_STREAM_BYTES_ENV]);
    assert.equal(loaded.train.kind, 'npy-file');
    assert.equal(loaded.fingerprint, here.train.fingerprint());
    const all = Int32Array.from({ length: here.test.size }, (_, i) => i);
    assert.deepEqual(openSharedDataset(loaded.test).batch(all), here.test.batch(all));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a data set that cannot be opened rejects with WORKER_ERR_DATA_LOAD and the data package code as its cause', async () => {
  await assert.rejects(loadSharedDataset({ spec: 'no-such-set', seed: 1 }, 60_000), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'WORKER_ERR_DATA_LOAD');
    assert.equal((error.cause as { code?: string } | undefined)?.code, 'DATA_ERR_UNKNOWN_DATASET');
    return true;
  });
});

test('the main thread stays free while MNIST loads (the coordinator link answers from it)', async () => {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  // The histogram counts from its first tick: a block before it would go unseen.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const loaded = await loadSharedDataset({ spec: 'mnist', seed: 1 }, 120_000);
  delay.disable();
  assert.ok(loaded.train.kind === 'arrays' && loaded.train.x.byteLength > 0);
  // Loading takes seconds of CPU (about 5 s on the busy 2-core test machine); the main thread only waits for the answer.
  const maxMs = delay.max / 1e6;
  assert.ok(maxMs < 750, `the main thread was blocked for ${Math.round(maxMs)} ms while the data set loaded`);
});

test('a load cut off by the signal (the worker leaves) rejects at once with WORKER_ERR_LEFT and ends its thread', async () => {
  const leaving = new AbortController();
  const started = performance.now();
  // MNIST takes seconds to parse: the abort 50 ms in comes while the thread is busy.
  const load = loadSharedDataset({ spec: 'mnist', seed: 1 }, 120_000, leaving.signal);
  setTimeout(() => leaving.abort('the job failed'), 50);
  await assert.rejects(load, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'WORKER_ERR_LEFT');
    assert.match(error.message, /stopped loading "mnist": the job failed/);
    return true;
  });
  const ms = performance.now() - started;
  console.log(`# the aborted load rejected after ${ms.toFixed(0)} ms`);
  assert.ok(ms < 1_000, `rejected after ${ms.toFixed(0)} ms`);
});
