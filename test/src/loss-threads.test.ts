import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { encodeNpy, syntheticDataset } from '@tfjs-ddp/data';
import type { TrainConfig } from '@tfjs-ddp/trainer';
import { compareWithReference, referenceRun, withinTolerance } from './harness/reference.js';
import { threadedRun } from './harness/threaded-run.js';

/**
 * `--loss binary-crossentropy` in a real job: 2 rank threads, each on its half of every
 * global batch, train the same one-sigmoid-unit model as one replica on the whole batch
 * (the loss is a per-sample sum, so the all-reduce of summed gradients is exact).
 * Tolerance as the other equivalence tests without BN: 1e-5 * (1 + |reference|).
 */
const TOLERANCE = 1e-5;
const dir = mkdtempSync(path.join(tmpdir(), 'loss-threads-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function binaryJob(): TrainConfig {
  const data = syntheticDataset({ size: 256, inputShape: [16], numClasses: 2, seed: 4 });
  const all = data.batch(Int32Array.from({ length: data.size }, (_, i) => i));
  const images = path.join(dir, 'x.npy');
  const labels = path.join(dir, 'y.npy');
  writeFileSync(images, encodeNpy(all.x, [data.size, 16]));
  writeFileSync(labels, encodeNpy(all.y, [data.size]));
  const model = path.join(dir, 'sigmoid-model.mjs');
  writeFileSync(
    model,
    'export function createModel({ tf, inputShape, seed }) {\n' +
      '  return tf.sequential({ layers: [\n' +
      "    tf.layers.dense({ inputShape, units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),\n" +
      "    tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),\n" +
      '  ] });\n}\n',
  );
  return {
    model, dataset: `npy:${images},${labels}`, epochs: 1, globalBatch: 24, optimizer: { name: 'sgd', learningRate: 0.1 }, seed: 3, maxSteps: 6,
    loss: 'binary-crossentropy',
  };
}

test('binary-crossentropy: 2 rank threads (12 samples each) equal one replica on the 24 samples', async (t) => {
  const config = binaryJob();
  const reference = await referenceRun(config);
  const diff = compareWithReference(t, 'binary-crossentropy, 2 threads', await threadedRun(config, 2, 'sync'), reference);
  assert.ok(...withinTolerance('binary-crossentropy, 2 threads', diff, TOLERANCE));
  assert.ok((reference.losses.at(-1) as number) < (reference.losses[0] as number), `loss did not fall: ${reference.losses.join(', ')}`);
});
