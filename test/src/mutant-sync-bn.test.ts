import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { TrainConfig } from '@tfjs-ddp/trainer';
import { compareWithReference, referenceRun, withinTolerance } from './harness/reference.js';
import { threadedRun } from './harness/threaded-run.js';

/**
 * The equivalence check must be able to fail. A SyncBN with a synchronized forward but a
 * local backward (fixtures/mutant-sync-bn-model: local sum(dy) and sum(dy * xhat) over
 * the local count, where the group's should be) trains in real rank threads; the same check that accepts
 * the real SyncBN on the same model must reject it, by far more than the tolerance.
 */
const TOLERANCE = 1e-5;
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

function config(model: string, optimizer: 'sgd' | 'adam'): TrainConfig {
  const lr = optimizer === 'sgd' ? 0.1 : 0.003;
  const optimizerSpec = { name: optimizer, learningRate: lr };
  return { model: path.join(fixtures, model), dataset: 'synthetic', epochs: 1, globalBatch: 16, optimizer: optimizerSpec, seed: 9, maxSteps: 5 };
}

for (const optimizer of ['sgd', 'adam'] as const) {
  test(`a SyncBN with a local backward fails the equivalence check that the real SyncBN passes (${optimizer}, 2 threads)`, async (t) => {
    // The reference: one replica of the same model with plain tfjs BN on the whole batch.
    const reference = await referenceRun(config('bn-model.js', optimizer));
    const real = compareWithReference(t, `real SyncBN ${optimizer}`, await threadedRun(config('bn-model.js', optimizer), 2, 'sync'), reference);
    assert.ok(...withinTolerance(`real SyncBN ${optimizer}`, real, TOLERANCE));
    const mutantRun = await threadedRun(config('mutant-sync-bn-model.js', optimizer), 2, 'sync');
    const mutant = compareWithReference(t, `mutant (local backward) ${optimizer}`, mutantRun, reference);
    assert.ok(!withinTolerance('mutant', mutant, TOLERANCE)[0], `the mutant passed: loss ${mutant.lossDiff}, weights ${mutant.weightDiff}`);
    assert.ok(mutant.weightDiff > 100 * TOLERANCE, `the mutant's weights are only ${mutant.weightDiff} off: too close to the tolerance to trust the check`);
  });
}
