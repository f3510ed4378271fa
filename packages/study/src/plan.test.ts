import assert from 'node:assert/strict';
import { test } from 'node:test';
import { budgetSettings } from './budget.js';
import { budgetDataSizes, runSeconds } from './estimate.js';
import { planRuns } from './plan.js';
import { QUESTIONS } from './questions/index.js';
import { armKey, baseArm } from './run-config.js';

test('the plan runs every arm of every question once per seed, sharing arms between questions', () => {
  const settings = budgetSettings('quick');
  const requests = planRuns(QUESTIONS, settings);
  const keys = new Set(requests.map((r) => r.key));
  assert.equal(keys.size, requests.length, 'no run twice');
  const arms = new Set(QUESTIONS.flatMap((q) => q.arms(settings).map((a) => armKey(a.config))));
  assert.equal(requests.length, arms.size * settings.seeds.length);
  // Question 1's BN-before arm is also question 2's, 3's and 5's: one set of runs, with every extra asked for.
  const base = requests.filter((r) => armKey(r.config) === armKey(baseArm(settings.globalBatch)));
  assert.deepEqual(base.map((r) => r.config.seed).sort(), settings.seeds);
  assert.ok(base.every((r) => r.extras.curve && r.extras.testTimeStatistics));
  // The longest expected runs are handed out first.
  const seconds = requests.map((r) => runSeconds(r, settings, budgetDataSizes(settings)));
  seconds.forEach((s, i) => assert.ok(i === 0 || s <= (seconds[i - 1] as number), `run ${i} after a shorter one`));
});

test('an unknown budget is refused with a code', () => {
  assert.throws(() => budgetSettings('huge'), { code: 'STUDY_ERR_BAD_OPTION' });
  assert.deepEqual(budgetSettings('tiny').seeds, [1, 2, 3], 'at least 3 seeds even in the tests');
});
