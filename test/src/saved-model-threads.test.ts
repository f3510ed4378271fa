import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { openDataset } from '@tfjs-ddp/data';
import { buildModel, writeAllWeights, type TrainConfig } from '@tfjs-ddp/trainer';
import { runLocalJob } from '@tfjs-ddp/worker';

const here = path.dirname(fileURLToPath(import.meta.url));

test('the model saved after multi-thread training opens in a fresh process with plain tfjs and predicts as the replicas do', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'saved-threads-'));
  const config: TrainConfig = { model: 'cnn-bn-dropout', dataset: 'synthetic', epochs: 1, globalBatch: 24, optimizer: { name: 'adam' }, seed: 2, maxSteps: 6 };
  // local BN: the saved moving statistics are the mean over the replicas', the hardest case.
  for (const bnMode of ['sync', 'local']) {
    const out = path.join(dir, bnMode);
    const job = await runLocalJob({ config, threads: 3, bnMode, outDir: out, returnWeights: true, backend: 'wasm' });
    assert.equal(job.modelPath, path.join(out, 'model.json'));
    const replicaWeights = job.weights?.[0] as Float32Array;
    job.weights?.forEach((w) => assert.deepEqual(w, replicaWeights, 'every replica ends with the same weights after the moving statistics are shared'));

    // What the replicas predict: their weights in a model of the same architecture, here.
    await initBackend('wasm');
    const data = openDataset(config.dataset, config.seed);
    const replica = await buildModel(config, data);
    writeAllWeights(replica, replicaWeights);
    const batch = data.test.batch(Int32Array.from({ length: 16 }, (_, i) => i));
    const shape = [16, ...data.test.inputShape];
    const expected = Array.from((replica.predict(tf.tensor(batch.x, shape)) as tf.Tensor).dataSync());

    const inputs = path.join(dir, `inputs-${bnMode}.json`);
    writeFileSync(inputs, JSON.stringify({ shape, values: Array.from(batch.x) }));
    const output = execFileSync(process.execPath, [path.join(here, 'fixtures', 'predict-saved-model.js'), out, inputs], { encoding: 'utf8', timeout: 60_000 });
    const { classes, predictions } = JSON.parse(output) as { classes: string[]; predictions: number[] };
    assert.ok(classes.includes('BatchNormalization') && classes.includes('Dropout'), `plain tfjs layers: ${classes.join(', ')}`);
    assert.ok(!classes.includes('SyncBatchNormalization') && !classes.includes('SampleDropout'));
    assert.equal(predictions.length, expected.length);
    // The fresh process runs the cpu backend: same math, other kernels.
    predictions.forEach((p, i) => assert.ok(Math.abs(p - (expected[i] as number)) < 1e-4, `prediction ${i}: ${p} vs ${expected[i]}`));
  }
});
