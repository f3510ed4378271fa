/** Reported after every step; the CLI draws it, the coordinator aggregates it. */
export interface StepProgress {
  epoch: number;
  /** Step within the epoch, 1-based after it completes. */
  stepInEpoch: number;
  stepsPerEpoch: number;
  /** Steps completed in the whole run. */
  step: number;
  totalSteps: number;
  /** Mean loss of this step's global batch. */
  loss: number;
  /** Training accuracy of this step's global batch (before the update). */
  accuracy: number;
  samples: number;
  /** Samples per second over the run so far. */
  samplesPerSec: number;
  /** Estimated seconds to the end of the run. */
  etaSec: number;
  elapsedSec: number;
}

/**
 * Keeps the run's clock and turns step results into `StepProgress`. A run resumed after
 * `startStep` steps counts on from there; its rates cover this process's steps only.
 */
export class ProgressTracker {
  private readonly startedAt = performance.now();
  private samples = 0;
  private step: number;
  private recorded = 0;

  constructor(
    private readonly stepsPerEpoch: number,
    private readonly totalSteps: number,
    startStep = 0,
  ) {
    this.step = startStep;
  }

  record(epoch: number, stepInEpoch: number, lossSum: number, correct: number, count: number): StepProgress {
    this.samples += count;
    this.step++;
    this.recorded++;
    const elapsedSec = (performance.now() - this.startedAt) / 1000;
    const perStep = elapsedSec / this.recorded;
    return {
      epoch,
      stepInEpoch: stepInEpoch + 1,
      stepsPerEpoch: this.stepsPerEpoch,
      step: this.step,
      totalSteps: this.totalSteps,
      loss: count === 0 ? 0 : lossSum / count,
      accuracy: count === 0 ? 0 : correct / count,
      samples: this.samples,
      samplesPerSec: elapsedSec > 0 ? this.samples / elapsedSec : 0,
      etaSec: perStep * (this.totalSteps - this.step),
      elapsedSec,
    };
  }
}
