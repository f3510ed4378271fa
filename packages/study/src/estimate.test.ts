import assert from 'node:assert/strict';
import { test } from 'node:test';
import { budgetSettings, type BudgetName } from './budget.js';
import { loadMnist } from '@tfjs-ddp/data';
import { BUNDLED_MNIST, budgetDataSizes, expectedStudySeconds, MEASURED_RUN_TIMES, runSeconds } from './estimate.js';
import { planRuns } from './plan.js';
import { replicaArm } from './questions/q3-replica-batch.js';
import { QUESTIONS } from './questions/index.js';
import { baseArm, runKey, type ArmConfig, type RunExtras } from './run-config.js';

/**
 * Runs timed on the study's pool (2 workers, wasm, 2 vCPUs shared with other work, Dec 2026):
 * the estimate must reproduce them. Times of a machine to itself would be lower.
 */
const MEASURED: { what: string; budget: BudgetName; arm: (b: ReturnType<typeof budgetSettings>) => ArmConfig; extras?: Partial<RunExtras>; seconds: number }[] = [
  { what: 'BN, 64 steps', budget: 'quick', arm: () => baseArm(64), seconds: 2.6 },
  { what: 'no BN, 64 steps', budget: 'quick', arm: () => ({ ...baseArm(64), bnPlacement: 'none' }), seconds: 2.4 },
  { what: 'BN with curve and test-time statistics', budget: 'quick', arm: () => baseArm(64), extras: { curve: true, testTimeStatistics: true }, seconds: 5.3 },
  { what: '4 ranks x 1, local BN, 40 steps', budget: 'quick', arm: (s) => replicaArm({ ...s, replicaSteps: 40 }, 1, 'local'), seconds: 9.8 },
  { what: '4 ranks x 8, sync:2, 40 steps', budget: 'quick', arm: (s) => replicaArm({ ...s, replicaSteps: 40 }, 8, 'group'), seconds: 11.1 },
  { what: '4 ranks x 32, SyncBN, 40 steps', budget: 'quick', arm: (s) => replicaArm({ ...s, replicaSteps: 40 }, 32, 'sync'), seconds: 19.9 },
];

test('the per-run estimate reproduces the measured run times within 35 %', () => {
  for (const m of MEASURED) {
    const settings = budgetSettings(m.budget);
    const config = { ...m.arm(settings), seed: 1 };
    const extras = { curve: false, testTimeStatistics: false, ...m.extras };
    const estimate = runSeconds({ key: runKey(config), config, extras }, settings, budgetDataSizes(settings));
    const ratio = estimate / m.seconds;
    assert.ok(ratio > 1 / 1.35 && ratio < 1.35, `${m.what}: estimated ${estimate.toFixed(1)} s, measured ${m.seconds} s`);
  }
});

test('the bundled MNIST splits are the sizes the estimate assumes', () => {
  assert.equal(loadMnist('train').size, BUNDLED_MNIST.train);
  assert.equal(loadMnist('test').size, BUNDLED_MNIST.test);
});

test('the standard budget is expected within 90 minutes on 2 cores; full says it takes longer', () => {
  const expected = (name: BudgetName, workers = 2): number => {
    const settings = budgetSettings(name);
    return expectedStudySeconds(planRuns(QUESTIONS, settings), settings, { sizes: budgetDataSizes(settings), workers, cores: 2 });
  };
  assert.ok(expected('standard') <= 90 * 60, `standard: ${(expected('standard') / 60).toFixed(1)} min`);
  assert.ok(expected('full') > 90 * 60, 'full is for bigger machines');
  assert.ok(expected('tiny') < expected('quick') && expected('quick') < expected('standard'));
  // More workers than cores do not make it faster.
  assert.equal(expected('standard', 8), expected('standard', 2));
  assert.ok(MEASURED_RUN_TIMES.cnnSampleSec > 0);
});
