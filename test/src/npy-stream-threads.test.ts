import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { encodeNpy, mulberry32, NPY_STREAM_BYTES_ENV, openDataset, shareDataset } from '@tfjs-ddp/data';
import type { TrainConfig } from '@tfjs-ddp/trainer';
import { runLocalJob } from '@tfjs-ddp/worker';

/**
 * Training on an `npy:` data set streamed from disk (each rank thread reads the rows of its
 * shard from the file itself) ends with the weights training on the same files loaded into
 * memory ends with: the streamed batches are the loaded ones bit for bit, so every step is.
 * The streaming threshold is lowered to 0 through its test-only variable.
 */
test('2 rank threads on a streamed npy data set end with the weights of the in-memory run', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'npy-stream-threads-'));
  try {
    const n = 200;
    const random = mulberry32(11);
    // uint8 images, so the 1/255 scaling is on the path; labels follow the image's mean, so the model learns something.
    const images = Uint8Array.from({ length: n * 12 * 12 }, () => Math.floor(random() * 256));
    const labels = Int32Array.from({ length: n }, (_, i) => (images.subarray(i * 144, (i + 1) * 144).reduce((a, b) => a + b, 0) > 144 * 127.5 ? 1 : 0));
    writeFileSync(path.join(dir, 'x.npy'), encodeNpy(images, [n, 12, 12]));
    writeFileSync(path.join(dir, 'y.npy'), encodeNpy(labels, [n]));
    const config: TrainConfig = {
      model: 'cnn-bn',
      dataset: `npy:${path.join(dir, 'x.npy')},${path.join(dir, 'y.npy')}`,
      epochs: 1,
      globalBatch: 16,
      optimizer: { name: 'adam', learningRate: 0.003 },
      seed: 4,
      maxSteps: 6,
    };
    const run = (): ReturnType<typeof runLocalJob> => runLocalJob({ config, threads: 2, returnWeights: true, backend: 'wasm' });

    const loaded = await run();
    process.env[NPY_STREAM_BYTES_ENV] = '0';
    let streamed: Awaited<ReturnType<typeof runLocalJob>>;
    try {
      // What runLocalJob hands its rank threads: the file's path and the split's indices, not a copy of the samples.
      const data = openDataset(config.dataset, config.seed);
      assert.equal(shareDataset(data.train).kind, 'npy-file');
      assert.equal(shareDataset(data.test).kind, 'npy-file');
      streamed = await run();
    } finally {
      delete process.env[NPY_STREAM_BYTES_ENV];
    }
    assert.equal(streamed.steps, loaded.steps);
    const [a, b] = [streamed.weights, loaded.weights];
    assert.ok(a !== undefined && b !== undefined && a.length === 2 && b.length === 2);
    a.forEach((w, rank) => assert.deepEqual(w, b[rank], `rank ${rank}: the streamed run's weights differ from the in-memory run's`));
    const outcome = ({ accuracy, loss, count }: typeof loaded.test): number[] => [accuracy, loss, count];
    assert.deepEqual(outcome(streamed.test), outcome(loaded.test), 'the validation split evaluates differently when streamed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
