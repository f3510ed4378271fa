import type { StepSchedule } from './step-schedule.js';
import { sampleDigest } from '@tfjs-ddp/protocol';

/** How often each sample of one epoch was trained in committed steps. */
export interface EpochAccount {
  epoch: number;
  /** Samples trained exactly once. */
  once: number;
  /** Samples of the epoch's committed steps that no rank reported training (must be 0). */
  missing: number;
  /** Samples trained more than once (must be 0). */
  repeated: number;
  /** The epoch's steps are all committed. */
  complete: boolean;
}

/** What one rank said it trained in a step: how many samples, and the digest of their indices. */
export interface TrainedReport {
  readonly rank: number;
  readonly count: number;
  readonly sampleDigest: number;
}

/**
 * The coordinator's exactly-once accounting, from what the ranks report they trained, not
 * from the schedule: a committed step marks the samples of each rank's shard whose report
 * (count and digest of the indices the rank fed to its model) matches that shard; the
 * shard of a rank that reported other samples, or nothing, stays unmarked and shows up
 * as missing. The step's global batch (from the schedule) is only what is expected. So
 * across failures, regroups and resumes each sample of an epoch must be trained exactly
 * once. A step that is redone after a rollback was never committed.
 */
export class SampleLedger {
  private readonly counts = new Map<number, Uint8Array>();
  private readonly committedSteps = new Set<number>();

  constructor(
    private readonly schedule: StepSchedule,
    private readonly size: number,
  ) {}

  /** Marks `step` committed with every rank's report and the shard each rank was sent (indexed by rank). */
  commit(step: number, reports: readonly TrainedReport[], shards: readonly Int32Array[]): void {
    // Committing a step twice is the failure this ledger exists to catch: it marks again.
    this.committedSteps.add(step);
    const counts = this.epochCounts(this.schedule.at(step).epoch);
    for (const r of reports) {
      const shard = shards[r.rank];
      if (shard === undefined || shard.length !== r.count || sampleDigest(shard) !== r.sampleDigest) continue;
      for (const i of shard) counts[i] = Math.min(255, (counts[i] as number) + 1);
    }
  }

  /**
   * Marks every step before `step` committed, each sample of their batches once: a run
   * resumed from a checkpoint after them. The reports of those steps were checked by the
   * run that wrote the checkpoint; they are not kept in it.
   */
  commitUpTo(step: number): void {
    for (let s = 0; s < step; s++) {
      const { epoch, indices } = this.schedule.at(s);
      this.committedSteps.add(s);
      const counts = this.epochCounts(epoch);
      for (const i of indices) counts[i] = Math.min(255, (counts[i] as number) + 1);
    }
  }

  private epochCounts(epoch: number): Uint8Array {
    let counts = this.counts.get(epoch);
    if (counts === undefined) this.counts.set(epoch, (counts = new Uint8Array(this.size)));
    return counts;
  }

  accounts(): EpochAccount[] {
    return [...this.counts.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([epoch, counts]) => {
        const { stepsPerEpoch, totalSteps } = this.schedule;
        const steps = Array.from({ length: stepsPerEpoch }, (_, i) => epoch * stepsPerEpoch + i).filter((s) => s < totalSteps);
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
