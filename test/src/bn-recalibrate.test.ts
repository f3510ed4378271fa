import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { openDataset } from '@tfjs-ddp/data';
import {
  bnRecalibrationOf,
  buildModel,
  DEFAULT_TRAIN_CONFIG,
  evaluate,
  loadModelFolder,
  readAllWeights,
  recalibrateModelBatchNorm,
  trainSingleReplica,
  writeAllWeights,
  type TrainConfig,
} from '@tfjs-ddp/trainer';
import { runLocalJob } from '@tfjs-ddp/worker';
import { compareWithReference, referenceRun, withinTolerance } from './harness/reference.js';
import { threadedRun } from './harness/threaded-run.js';

/**
 * Precise BN. (1) Rank threads with uneven shards, in every BN mode, end with
 * the statistics ONE model computes over the same recalibration samples from the same
 * weights, bit for bit (the merge is over fixed chunks, not ranks), on every rank and in
 * the saved model. (2) The default (`epoch`) job equals the one-replica reference that
 * recalibrates too. (3) A short job of the default model tests close to its training
 * accuracy with recalibration and far below it without.
 */

const dir = mkdtempSync(path.join(tmpdir(), 'bn-recalibrate-'));

function config(extra: Partial<TrainConfig> = {}): TrainConfig {
  // 700 samples: chunks of 256, 256 and 188, so 2 and 3 ranks get uneven shares of them too.
  return { model: 'cnn-bn', dataset: 'synthetic', epochs: 1, globalBatch: 12, optimizer: { name: 'adam', learningRate: 0.003 }, seed: 8, maxSteps: 3, bnRecalibrate: 'end', bnRecalibrateSamples: 700, ...extra };
}

test('2 and 3 rank threads (uneven shards; sync, sync:2, local BN) hold the statistics one rank computes over the same samples, as does the saved model', async (t) => {
  const cfg = config();
  await initBackend('wasm');
  const data = openDataset(cfg.dataset, cfg.seed);
  const runs = [
    { threads: 2, shardWeights: [1, 3], bnMode: 'sync' },
    { threads: 3, shardWeights: [1, 2, 4], bnMode: 'local' },
    { threads: 3, shardWeights: [3, 0, 2], bnMode: 'sync:2' },
  ];
  for (const { threads, shardWeights, bnMode } of runs) {
    const label = `${threads} threads [${shardWeights.join(', ')}], ${bnMode}`;
    const out = path.join(dir, `${threads}-${bnMode.replace(':', '-')}`);
    const job = await runLocalJob({ config: cfg, threads, bnMode, shardWeights, outDir: out, returnWeights: true, backend: 'wasm' });
    const replicas = job.weights ?? [];
    const weights = replicas[0] as Float32Array;
    replicas.forEach((w, rank) => assert.deepEqual(w, weights, `${label}: rank ${rank} holds other statistics than rank 0`));
    const report = bnRecalibrationOf(job.test);
    assert.ok(report !== undefined && report.samples === 700 && report.layers > 0, `${label}: the final evaluation reports no recalibration: ${JSON.stringify(job.test)}`);

    // One rank, here: the same weights, recalibrated over the same samples.
    const model = await buildModel(cfg, data);
    writeAllWeights(model, weights);
    const initial = readAllWeights(model);
    const tensors = tf.memory().numTensors;
    recalibrateModelBatchNorm(model, data.train, cfg);
    assert.equal(tf.memory().numTensors, tensors, 'recalibration leaks no tensors');
    const oneRank = readAllWeights(model);
    let worst = 0;
    oneRank.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (initial[i] as number)))));
    t.diagnostic(`${label}: max difference to one rank over the same samples ${worst} (recalibration took ${report.ms.toFixed(0)} ms)`);
    assert.deepEqual(initial, oneRank, `${label}: the ranks' statistics differ from one rank's over the same samples by up to ${worst}`);

    const saved = await loadModelFolder(out);
    assert.deepEqual(readAllWeights(saved), weights, `${label}: the saved model holds other weights or statistics than the replicas`);
    model.dispose();
    saved.dispose();
  }
});

test('a default (epoch) job with uneven shards equals the one-replica reference recalibrated the same way', async (t) => {
  const cfg = config({ bnRecalibrate: undefined, maxSteps: 5 });
  const run = await threadedRun(cfg, 3, 'sync', [1, 2, 4]);
  const diff = compareWithReference(t, 'epoch, 3 threads [1, 2, 4]', run, await referenceRun(cfg));
  assert.ok(...withinTolerance('epoch, 3 threads', diff, 1e-4));
});

test('short job (default model, one epoch of MNIST): recalibrated test accuracy is near training accuracy, the moving averages far below', async (t) => {
  await initBackend('wasm');
  const cfg: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, epochs: 1, bnRecalibrate: 'off' };
  const accuracies: number[] = [];
  const result = await trainSingleReplica(cfg, { onStep: (p) => accuracies.push(p.accuracy) });
  // Training accuracy: the last 20 steps' batches (before their updates).
  const last = accuracies.slice(-20);
  const trainAccuracy = last.reduce((a, b) => a + b, 0) / last.length;
  const data = openDataset(cfg.dataset, cfg.seed);
  // The weights do not depend on recalibration: recalibrate the 'off' run's model as `epoch` would have.
  const recalibration = recalibrateModelBatchNorm(result.model, data.train, { ...cfg, bnRecalibrate: 'epoch' });
  const recalibrated = evaluate(result.model, data.test);
  t.diagnostic(
    `${accuracies.length} steps in ${result.elapsedSec.toFixed(1)} s: training accuracy ${(trainAccuracy * 100).toFixed(2)} %, ` +
      `test accuracy without recalibration ${(result.test.accuracy * 100).toFixed(2)} %, with ${(recalibrated.accuracy * 100).toFixed(2)} % ` +
      `(recalibration over ${recalibration.samples} samples: ${recalibration.ms.toFixed(0)} ms)`,
  );
  assert.ok(recalibrated.accuracy >= trainAccuracy - 0.05, `recalibrated test accuracy ${recalibrated.accuracy} is not within 5 points of training accuracy ${trainAccuracy}`);
  assert.ok(recalibrated.accuracy >= result.test.accuracy + 0.2, `recalibration lifted test accuracy only from ${result.test.accuracy} to ${recalibrated.accuracy}`);
});
