import type { RunOutcome } from './outcome.js';
import type { RunConfig } from './run-config.js';

/** Accuracy and mean cross-entropy on a test set; the loss is null where it was not finite (a diverged model). */
export interface Score {
  accuracy: number;
  loss: number | null;
}

/** One point of a learning curve. */
export interface CurvePoint {
  /** Steps completed. */
  step: number;
  /** With the BN moving statistics (inference as deployed). */
  moving: Score;
  /** With each test batch's own statistics (batches of the global batch size); undefined without BN. */
  batch?: Score;
}

/** Test accuracy at one test batch size with the batch's own BN statistics. */
export interface BatchStatisticsScore extends Score {
  batchSize: number;
}

/** Everything measured in one training run: the raw material of the report. */
export interface RunResult {
  key: string;
  config: RunConfig;
  /** Steps the run was to take. */
  steps: number;
  /** Steps it took: fewer when it diverged. */
  stepsCompleted: number;
  /** The loss became non-finite (NaN or infinite weights); the run stopped there. */
  diverged: boolean;
  /** Trained, collapsed or diverged (outcome.ts); absent in results.json written before it was recorded. */
  outcome?: RunOutcome;
  /** Why it collapsed or diverged, with the numbers; empty when it trained. */
  outcomeReason?: string;
  /** Mean batch loss of each of the last COLLAPSE_STEPS steps, oldest first (null where not finite). */
  lastStepLosses?: (number | null)[];
  /** Final test samples predicted as each class (moving statistics). */
  predictedClassCounts?: number[];
  /** Mean training loss over the steps of the last epoch (dropout on, batch statistics); null if it diverged before. */
  trainLoss: number | null;
  /** Final test score with the moving statistics. */
  test: Score;
  /** Final score on the run's own training samples, as at test time (moving statistics, no dropout); when asked for. */
  trainScore?: Score;
  curve: CurvePoint[];
  /** Final test scores with each test batch's own statistics; empty unless asked for. */
  batchStatistics: BatchStatisticsScore[];
  elapsedSec: number;
}
