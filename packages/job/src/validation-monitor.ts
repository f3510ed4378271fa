import { JobError } from './errors.js';
import type { EpochEvaluation } from './job-driver.js';

/** The validation metric a run watches: the loss (lower is better) or the accuracy (higher is better). */
export const MONITORED_METRICS = ['loss', 'accuracy'] as const;
export type MonitoredMetric = (typeof MONITORED_METRICS)[number];

export interface ValidationMonitorOptions {
  /** Default `loss`. */
  metric?: MonitoredMetric;
  /** Epochs without improvement after which the run stops; undefined: never stops. */
  patience?: number;
  /** The least change that counts as an improvement (Keras's min_delta). Default 0. */
  minDelta?: number;
}

/** What one epoch's evaluation means for the run. */
export interface EpochJudgement {
  /** Better than every earlier epoch by more than minDelta (the first epoch always is). */
  improved: boolean;
  /** `patience` epochs in a row did not improve. */
  stop: boolean;
}

/**
 * Keeps the best validation value of a run and judges each epoch by it: the rule behind
 * best-model saving and early stopping (Keras's EarlyStopping: an epoch improves when it
 * beats the best so far by more than minDelta; after `patience` epochs that did not, stop).
 */
export class ValidationMonitor {
  readonly metric: MonitoredMetric;
  readonly patience: number | undefined;
  readonly minDelta: number;
  private bestValue: number | undefined;
  private bestAt: number | undefined;
  private since = 0;

  constructor(options: ValidationMonitorOptions = {}) {
    this.metric = options.metric ?? 'loss';
    if (!MONITORED_METRICS.includes(this.metric)) {
      throw new JobError('JOB_ERR_BAD_OPTION', `the monitored metric must be one of ${MONITORED_METRICS.join(', ')}, got ${String(this.metric)}`);
    }
    const { patience, minDelta = 0 } = options;
    if (patience !== undefined && (!Number.isInteger(patience) || patience < 1)) {
      throw new JobError('JOB_ERR_BAD_OPTION', `patience must be a positive integer of epochs, got ${patience}`);
    }
    if (!(minDelta >= 0) || !Number.isFinite(minDelta)) throw new JobError('JOB_ERR_BAD_OPTION', `minDelta must be a finite number >= 0, got ${minDelta}`);
    this.patience = patience;
    this.minDelta = minDelta;
  }

  /** The best epoch so far (0-based) and its value; undefined before the first. */
  get best(): { epoch: number; value: number } | undefined {
    return this.bestAt === undefined || this.bestValue === undefined ? undefined : { epoch: this.bestAt, value: this.bestValue };
  }

  judge(epoch: number, evaluation: EpochEvaluation): EpochJudgement {
    const value = this.metric === 'loss' ? evaluation.loss : evaluation.accuracy;
    // A NaN loss never improves on anything.
    const gain = this.bestValue === undefined ? Infinity : this.metric === 'loss' ? this.bestValue - value : value - this.bestValue;
    const improved = Number.isFinite(value) && gain > this.minDelta;
    if (improved) {
      this.bestValue = value;
      this.bestAt = epoch;
      this.since = 0;
    } else {
      this.since++;
    }
    return { improved, stop: this.patience !== undefined && this.since >= this.patience };
  }
}
