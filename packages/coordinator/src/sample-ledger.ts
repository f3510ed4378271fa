import type { StepSchedule } from '@tfjs-ddp/data';

/** How often each sample of one epoch was trained in committed steps. */
export interface EpochAccount {
  epoch: number;
  /** Samples trained exactly once. */
  once: number;
  /** Samples of the epoch's committed steps never trained (must be 0). */
  missing: number;
  /** Samples trained more than once (must be 0). */
  repeated: number;
  /** The epoch's steps are all committed. */
  complete: boolean;
}

/**
 * The coordinator's exactly-once accounting: every committed step marks its global
 * batch's samples, so that across failures, regroups and resumes each sample of an epoch
 * is trained exactly once. A step that is redone after a rollback was never committed.
 */
export class SampleLedger {
  private readonly counts = new Map<number, Uint8Array>();
  private readonly committedSteps = new Set<number>();

  constructor(
    private readonly schedule: StepSchedule,
    private readonly size: number,
  ) {}

  /** Marks `step` as committed (every rank reported it). */
  commit(step: number): void {
    if (this.committedSteps.has(step)) {
      // Committing a step twice is the failure this ledger exists to catch.
      this.mark(step, 2);
      return;
    }
    this.committedSteps.add(step);
    this.mark(step, 1);
  }

  /** Marks every step before `step` committed (a run resumed from a checkpoint after them). */
  commitUpTo(step: number): void {
    for (let s = 0; s < step; s++) this.commit(s);
  }

  private mark(step: number, times: number): void {
    const { epoch, indices } = this.schedule.at(step);
    let counts = this.counts.get(epoch);
    if (counts === undefined) this.counts.set(epoch, (counts = new Uint8Array(this.size)));
    for (const i of indices) counts[i] = Math.min(255, (counts[i] as number) + times);
  }

  accounts(): EpochAccount[] {
    return [...this.counts.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([epoch, counts]) => {
        const steps = Array.from({ length: this.schedule.stepsPerEpoch }, (_, i) => epoch * this.schedule.stepsPerEpoch + i).filter((s) => s < this.schedule.totalSteps);
        const complete = steps.every((s) => this.committedSteps.has(s));
        let once = 0;
        let repeated = 0;
        let missing = 0;
        const expected = new Uint8Array(this.size);
        for (const s of steps) if (this.committedSteps.has(s)) for (const i of this.schedule.at(s).indices) expected[i] = 1;
        counts.forEach((c, i) => {
          if (c === 1) once++;
          else if (c > 1) repeated++;
          else if (expected[i] === 1) missing++;
        });
        return { epoch, once, missing, repeated, complete };
      });
  }
}
