import type { BudgetSettings } from './budget.js';
import type { Question } from './questions/question.js';
import { armKey, runKey, type ArmConfig, type RunExtras, type RunRequest } from './run-config.js';

/** A run's relative cost, to hand the longest runs out first. */
export function estimatedCost(request: RunRequest, settings: BudgetSettings): number {
  const { config, extras } = request;
  // Measured on wasm: a step in chunks of b costs about 1 + 0.06 * (64 / b) whole-batch steps.
  const chunked = config.bnPlacement !== 'none' && config.bnBatch < settings.globalBatch ? 0.06 * (settings.globalBatch / config.bnBatch) : 0;
  const curve = extras.curve ? 0.1 : 0;
  // Evaluating the test set in batches of 1, 8 and 256: about half a quick run.
  const testTime = extras.testTimeStatistics ? 0.5 : 0;
  return (1 + chunked + curve + testTime) * (config.dropout > 0 ? 1.05 : 1);
}

/**
 * Every run the questions need: the union of their arms (an arm two questions share runs
 * once, with the extras of both), times the budget's seeds, longest first.
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
  const cost = new Map(requests.map((r) => [r.key, estimatedCost(r, settings)]));
  return requests.sort((a, b) => (cost.get(b.key) ?? 0) - (cost.get(a.key) ?? 0));
}
