import type { RunResult } from './results.js';

/**
 * How a training run ended. The study's accuracy comparisons are about runs that trained;
 * a run that diverged or collapsed is a different result (the configuration failed), which
 * the tables count separately instead of averaging its chance-level accuracy in.
 */
export type RunOutcome = 'trained' | 'collapsed' | 'diverged';

/** What results.json from before the outcome was recorded can still say: divergence, not collapse. */
export type RecordedOutcome = RunOutcome | 'unchecked';

/**
 * Steps at the end of a run whose every batch loss must lie above ln(numClasses), the loss
 * of a uniform guess, for the run to count as collapsed. 10 steps are 640 samples at the
 * study's global batch of 64, a third of an epoch at the quick budget: a model that learned
 * anything beats a uniform guess on at least one of 10 batches, while a saturated model
 * (every prediction one class with probability 1, where clipped cross-entropy gives no
 * gradient) stays near 0.9 × -ln(1e-7) = 14.5 on all of them. Runs of fewer steps are not
 * judged by the loss (early noise is not collapse); the prediction count still applies.
 */
export const COLLAPSE_STEPS = 10;

export interface OutcomeEvidence {
  /** The training loss became non-finite (the run stopped there). */
  nonFiniteLoss: boolean;
  /** Mean batch loss of each of the run's last steps, oldest first (at most COLLAPSE_STEPS are read). */
  lastStepLosses: readonly number[];
  /** Test samples predicted as each class. */
  predictedClassCounts: readonly number[];
  /** The final test loss; null or non-finite when the weights are. */
  testLoss: number | null;
}

export interface Classified {
  outcome: RunOutcome;
  /** Why, with the numbers: empty for a run that trained. */
  reason: string;
}

/** Diverged (a non-finite loss) before collapsed (no better than a uniform guess, or one class for every test sample). */
export function classifyRun(evidence: OutcomeEvidence): Classified {
  if (evidence.nonFiniteLoss) return { outcome: 'diverged', reason: 'the training loss became NaN or infinite' };
  if (evidence.testLoss === null || !Number.isFinite(evidence.testLoss)) return { outcome: 'diverged', reason: 'the test loss is NaN or infinite' };
  const numClasses = evidence.predictedClassCounts.length;
  const uniform = Math.log(numClasses);
  const last = evidence.lastStepLosses.slice(-COLLAPSE_STEPS);
  if (last.length === COLLAPSE_STEPS && last.every((loss) => loss > uniform)) {
    return {
      outcome: 'collapsed',
      reason:
        `training loss above ln ${numClasses} = ${uniform.toFixed(3)} in each of the last ${COLLAPSE_STEPS} steps ` +
        `(lowest ${Math.min(...last).toFixed(3)})`,
    };
  }
  const predicted = evidence.predictedClassCounts.flatMap((n, c) => (n > 0 ? [c] : []));
  const total = evidence.predictedClassCounts.reduce((a, b) => a + b, 0);
  if (predicted.length === 1 && numClasses > 1) {
    return { outcome: 'collapsed', reason: `class ${predicted[0]} predicted for all ${total} test samples` };
  }
  return { outcome: 'trained', reason: '' };
}

/** A run's outcome as recorded; results.json from before outcomes were recorded knows only divergence. */
export function outcomeOf(run: RunResult): RecordedOutcome {
  return run.outcome ?? (run.diverged ? 'diverged' : 'unchecked');
}

/** Whether a run's accuracy goes into the arm's mean and comparisons: trained, or not checkable for collapse. */
export function counts(run: RunResult): boolean {
  const outcome = outcomeOf(run);
  return outcome === 'trained' || outcome === 'unchecked';
}
