import assert from 'node:assert/strict';
import { test } from 'node:test';
import { budgetSettings } from '../budget.js';
import type { RunOutcome } from '../outcome.js';
import type { RunResult } from '../results.js';
import { baseArm, runKey, type ArmConfig } from '../run-config.js';
import { armCells } from './arm-table.js';
import { learningRateQuestion } from './q4-learning-rate.js';
import { ResultsIndex } from './results-index.js';

/** A stored run as the report reads it: only what the tables and findings use. */
function run(arm: ArmConfig, seed: number, accuracy: number, outcome?: RunOutcome): RunResult {
  const config = { ...arm, seed };
  return {
    key: runKey(config),
    config,
    steps: 64,
    stepsCompleted: 64,
    diverged: outcome === 'diverged',
    ...(outcome === undefined ? {} : { outcome, outcomeReason: outcome === 'trained' ? '' : 'planted' }),
    trainLoss: outcome === 'collapsed' ? 14.5 : 0.3,
    test: { accuracy, loss: outcome === 'collapsed' ? 14.5 : 0.3 },
    curve: [],
    batchStatistics: [],
    elapsedSec: 1,
  };
}

test('arm tables: means over trained runs, failed seeds marked, collapsed and diverged counted apart', () => {
  const arm = baseArm(64);
  const runs = [run(arm, 1, 0.9, 'trained'), run(arm, 2, 0.92, 'trained'), run(arm, 3, 0.1, 'collapsed'), run(arm, 4, 0.1, 'diverged'), run(arm, 5, 0.94, 'trained')];
  const [mean, perSeed, testLoss, , collapsed, diverged] = armCells(runs);
  assert.equal(mean, '92.00 ± 2.00');
  assert.equal(perSeed, '90.0, 92.0, 10.0 (collapsed), 10.0 (diverged), 94.0');
  assert.equal(testLoss, '0.3 ± 0', 'the collapsed run’s 14.5 is not in the mean');
  assert.equal(collapsed, '1 of 5');
  assert.equal(diverged, '1 of 5');
  // results.json from before outcomes were recorded: collapse unknown, not "0 of 3".
  const old = [run(arm, 1, 0.1), run(arm, 2, 0.1), run(arm, 3, 0.1)];
  assert.deepEqual(armCells(old).slice(4), ['not checked', '0 of 3']);
});

test('question 4 names the arms whose runs collapsed, leaves them out of comparisons, and never counts them as usable', () => {
  const settings = { ...budgetSettings('quick'), seeds: [1, 2, 3, 4, 5], learningRates: [0.01, 0.03, 0.1, 0.3, 1] };
  const runs = learningRateQuestion.arms(settings).flatMap(({ config }) =>
    settings.seeds.map((seed) => {
      const lr = config.optimizer.learningRate ?? 0;
      const bn = config.bnPlacement !== 'none';
      // BN at rate 1 collapses on seeds 1 and 2 and trains well on the others.
      if (bn && lr === 1 && config.initScale === 1 && seed <= 2) return run(config, seed, 0.1, 'collapsed');
      return run(config, seed, (bn && lr === 1 ? 0.95 : 0.8) + seed * 0.001, 'trained');
    }),
  );
  const { headline: head, section } = learningRateQuestion.analyze(new ResultsIndex(runs), settings);
  // The headline says where each arm failed; the findings after it give the sweep's numbers.
  assert.match(head, /Without warmup, no BN had a collapsed or diverged run at no rate and BN at 1;/);
  const headline = section.blocks.flatMap((b) => (b.kind === 'findings' ? b.sentences : [])).join(' ');
  assert.match(headline, /runs that collapsed or diverged, left out of the means and comparisons: BN at 1: collapsed 2 of 5, diverged 0 of 5/);
  // Rate 1 has the best mean over its trained runs, but with failed seeds it is not usable.
  assert.match(headline, /was 0\.3 with BN and 1 without/);
  assert.match(headline, /BN was above no BN at 1/);
});
