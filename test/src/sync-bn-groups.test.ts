import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrainConfig } from '@tfjs-ddp/trainer';
import { compareWithReference, groupedReferenceRun, referenceRun, withinTolerance } from './harness/reference.js';
import { threadedRun } from './harness/threaded-run.js';

/**
 * BN modes whose statistics are not the whole batch's, shown RIGHT (not only different
 * from sync): 4 rank threads with `sync:2` against one model that normalizes each half
 * of the global batch with that half's statistics, and `--bn local` against one model
 * that normalizes each quarter with its own (see groupedReferenceRun: summed gradients
 * of the parts over the global count; moving statistics per group, averaged over ranks).
 * Plain SGD as well as Adam: Adam divides by the gradient's own scale, so it would hide
 * a wrong divisor. Tolerance 1e-5 on |a - b| / (1 + |b|) (relative for large values,
 * absolute for small), for every step's loss and every final weight.
 */
const TOLERANCE = 1e-5;
const RANKS = 4;

function config(optimizer: 'sgd' | 'adam'): TrainConfig {
  const learningRate = optimizer === 'sgd' ? 0.05 : 0.003;
  // The per-group moving averages (and their mean over ranks) are what is compared: recalibration would overwrite them.
  return { model: 'cnn-bn', dataset: 'synthetic', epochs: 1, globalBatch: 16, optimizer: { name: optimizer, learningRate }, seed: 21, maxSteps: 5, bnRecalibrate: 'off' };
}

for (const optimizer of ['sgd', 'adam'] as const) {
  test(`sync:2 with 4 rank threads equals one model normalizing each half of the batch on its own (${optimizer})`, async (t) => {
    const cfg = config(optimizer);
    const run = await threadedRun(cfg, RANKS, 'sync:2');
    const diff = compareWithReference(t, `sync:2 ${optimizer}`, run, await groupedReferenceRun(cfg, RANKS, 2));
    assert.ok(...withinTolerance(`sync:2 ${optimizer}`, diff, TOLERANCE));
    // The grouped reference is not the whole-batch one: this comparison could tell the groups apart.
    const whole = compareWithReference(t, `sync:2 ${optimizer} vs whole-batch BN`, run, await referenceRun(cfg));
    assert.ok(whole.weightDiff > 100 * TOLERANCE, `sync:2 trained what whole-batch BN trains (${whole.weightDiff})`);
  });

  test(`--bn local with 4 rank threads equals one model normalizing each shard on its own (${optimizer})`, async (t) => {
    const cfg = config(optimizer);
    const run = await threadedRun(cfg, RANKS, 'local');
    const diff = compareWithReference(t, `local ${optimizer}`, run, await groupedReferenceRun(cfg, RANKS, 1));
    assert.ok(...withinTolerance(`local ${optimizer}`, diff, TOLERANCE));
  });
}
