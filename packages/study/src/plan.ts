import type { BudgetSettings } from './budget.js';
import { budgetDataSizes, runSeconds } from './estimate.js';
import type { Question } from './questions/question.js';
import { armKey, runKey, type ArmConfig, type RunExtras, type RunRequest } from './run-config.js';

/**
 * Every run the questions need: the union of their arms (an arm two questions share runs
 * once, with the extras of both), times the budget's seeds, longest expected first.
 */
export function planRuns(questions: readonly Question[], settings: BudgetSettings): RunRequest[] {
  const arms = new Map<string, { config: ArmConfig; extras: RunExtras }>();
  for (const question of questions) {
    for (const arm of question.arms(settings)) {
      const key = armKey(arm.config);
      const known = arms.get(key) ?? { config: arm.config, extras: { curve: false, testTimeStatistics: false } };
      known.extras = {
        curve: known.extras.curve || (arm.extras?.curve ?? false),
        testTimeStatistics: known.extras.testTimeStatistics || (arm.extras?.testTimeStatistics ?? false),
        trainScore: (known.extras.trainScore ?? false) || (arm.extras?.trainScore ?? false),
      };
      arms.set(key, known);
    }
  }
  const requests: RunRequest[] = [];
  for (const { config, extras } of arms.values()) {
    for (const seed of settings.seeds) {
      const run = { ...config, seed };
      requests.push({ key: runKey(run), config: run, extras });
    }
  }
  const cost = new Map(requests.map((r) => [r.key, runSeconds(r, settings, budgetDataSizes(settings))]));
  return requests.sort((a, b) => (cost.get(b.key) ?? 0) - (cost.get(a.key) ?? 0));
}
