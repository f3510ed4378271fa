import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrainConfig } from '@tfjs-ddp/trainer';
import { compareWithReference, maxRelativeDifference, referenceRun, withinTolerance } from './harness/reference.js';
import { threadedRun } from './harness/threaded-run.js';

/**
 * The training rules (learning-rate schedule with warmup and batch scaling, decoupled
 * weight decay, global-norm gradient clipping) are the same computation on P rank
 * threads with SyncBN as on ONE replica with plain BN on the whole global batch: the rate
 * is a function of the global step only, and clipping sees the all-reduced gradient.
 * Tolerance: every step's loss and every weight within 1e-5 * (1 + |reference|).
 */
const TOLERANCE = 1e-5;

function config(optimizer: 'sgd' | 'adam', globalBatch: number, extra: Partial<TrainConfig>): TrainConfig {
  return {
    model: 'cnn-bn',
    dataset: 'synthetic',
    epochs: 1,
    globalBatch,
    optimizer: { name: optimizer, learningRate: optimizer === 'sgd' ? 0.05 : 0.003 },
    seed: 5,
    maxSteps: 6,
    bnRecalibrate: 'off',
    ...extra,
  };
}

// Cosine's horizon is left unset: the local job and the reference both fill in the run's 6 steps.
const COSINE: Partial<TrainConfig> = { lrSchedule: 'cosine', lrWarmupSteps: 2, lrMin: 1e-4, lrReferenceBatch: 4, weightDecay: 0.01, clipNorm: 0.1 };
const STEP: Partial<TrainConfig> = { lrSchedule: 'step', lrStepEvery: 2, lrStepFactor: 0.5, lrWarmupSteps: 1, weightDecay: 0.02, clipNorm: 0.05 };

const CASES: [string, TrainConfig, number][] = [
  ['sgd + cosine/warmup/scaling + decay + clip, 2 threads', config('sgd', 8, COSINE), 2],
  ['adam + cosine/warmup/scaling + decay + clip, 4 threads', config('adam', 16, COSINE), 4],
  ['adam + step/warmup + decay + clip, 2 threads', config('adam', 8, STEP), 2],
];

for (const [label, cfg, threads] of CASES) {
  test(`training rules: ${label} equal one replica on the global batch`, async (t) => {
    const run = await threadedRun(cfg, threads, 'sync');
    const reference = await referenceRun(cfg);
    const diff = compareWithReference(t, label, run, reference);
    assert.ok(...withinTolerance(label, diff, TOLERANCE));
    // The rules must have changed the training, or the equivalence says nothing about them.
    const plain = await referenceRun(config(cfg.optimizer.name as 'sgd' | 'adam', cfg.globalBatch, {}));
    const effect = maxRelativeDifference(reference.weights, plain.weights);
    t.diagnostic(`${label}: the rules moved the weights by ${effect.toExponential(2)} from a run without them`);
    assert.ok(effect > 100 * TOLERANCE, `the rules changed nothing (${effect})`);
  });
}
