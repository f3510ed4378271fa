/**
 * Samples/s over the steps after a warm-up (the first steps pay for compilation and
 * cache warm-up), from the step progress a job reports.
 */
export class SteadyRate {
  private startedAt = 0;
  private samplesAtStart = 0;
  private samplesAtEnd = 0;
  private endedAt = 0;

  constructor(private readonly warmup: number) {}

  record(progress: { step: number; samples: number }): void {
    if (progress.step === this.warmup) {
      this.startedAt = performance.now();
      this.samplesAtStart = progress.samples;
    }
    if (progress.step > this.warmup) {
      this.endedAt = performance.now();
      this.samplesAtEnd = progress.samples;
    }
  }

  samplesPerSec(): number {
    return (this.samplesAtEnd - this.samplesAtStart) / ((this.endedAt - this.startedAt) / 1000);
  }
}
