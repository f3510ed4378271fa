import { combineDigests, sampleDigest, type RankStepDone, type RankStepReport } from '@tfjs-ddp/protocol';
import { JobError } from './errors.js';

/**
 * Slack between a rank's measured step time and the time the coordinator saw pass since
 * it sent the order: both are monotonic clocks of one machine or of two, rounded apart.
 */
const TIMING_SLACK_MS = 5;
const STEP_TIMINGS = ['computeMs', 'syncBnMs', 'allReduceMs', 'applyMs'] as const;

/** A step sent to the ranks and not yet committed. */
interface InFlightStep {
  /** Each global rank's shard, and its digest. */
  readonly shards: readonly Int32Array[];
  readonly digests: readonly number[];
  readonly globalCount: number;
  readonly batchDigest: number;
  readonly sentAt: number;
  /** Each rank's report, once it came. */
  readonly reports: (RankStepDone | undefined)[];
  reported: number;
}

/** A committed step: every rank's report in rank order, and the shard each was sent. */
export interface CommittedStep {
  readonly reports: RankStepDone[];
  readonly shards: readonly Int32Array[];
}

/** What ranks report, without the digest: what metrics and hooks are given. */
export function withoutDigest({ sampleDigest: _digest, ...report }: RankStepDone): RankStepReport {
  return report;
}

/**
 * The job driver's book of steps in flight and the checks on what ranks report for them.
 * A report is taken only for a step that was sent and is not committed, from a rank of
 * this ring that has not reported that step yet, with timings that fit in the time since
 * the order left, and for exactly the samples the rank was sent (count and digest of the
 * indices it trained). A batch of reports is checked whole before any of it is kept, so a
 * refused message leaves nothing behind. Nothing is kept for a step once it commits.
 */
export class StepReports {
  private readonly steps = new Map<number, InFlightStep>();

  constructor(
    private readonly worldSize: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The step's global batch went out, cut into `shards` (one per rank, in rank order). */
  sent(step: number, batch: Int32Array, shards: readonly Int32Array[]): void {
    this.steps.set(step, {
      shards,
      digests: shards.map(sampleDigest),
      globalCount: batch.length,
      batchDigest: sampleDigest(batch),
      sentAt: this.now(),
      reports: new Array<RankStepDone | undefined>(this.worldSize).fill(undefined),
      reported: 0,
    });
  }

  /**
   * Checks `reports` (of one endpoint, for `step`) and keeps them. Throws
   * COORD_ERR_BAD_REPORT (a report that cannot be right: a step not in flight, a rank that
   * already reported, an impossible timing) or COORD_ERR_SHARD_MISMATCH (a rank trained
   * other samples than its shard), naming the rank; then nothing is kept.
   */
  accept(step: number, reports: readonly RankStepDone[]): void {
    const entry = this.steps.get(step);
    if (entry === undefined) {
      throw new JobError(
        'COORD_ERR_BAD_REPORT',
        `a report for step ${step + 1}, which is not in flight (in flight: ${this.describeInFlight()})`,
      );
    }
    const elapsed = this.now() - entry.sentAt + TIMING_SLACK_MS;
    const seen = new Set<number>();
    for (const r of reports) {
      if (r.rank >= this.worldSize) throw new JobError('COORD_ERR_BAD_REPORT', `a report of rank ${r.rank} in a ring of ${this.worldSize} ranks`);
      if (seen.has(r.rank) || entry.reports[r.rank] !== undefined) {
        throw new JobError('COORD_ERR_BAD_REPORT', `rank ${r.rank} reported step ${step + 1} twice`);
      }
      seen.add(r.rank);
      const wall = STEP_TIMINGS.reduce((sum, key) => sum + r[key], 0);
      if (wall > elapsed) {
        throw new JobError(
          'COORD_ERR_BAD_REPORT',
          `rank ${r.rank} reports ${wall.toPrecision(6)} ms of work on step ${step + 1}, sent ${(elapsed - TIMING_SLACK_MS).toFixed(1)} ms ago`,
        );
      }
      const shard = entry.shards[r.rank] as Int32Array;
      if (r.count !== shard.length || r.sampleDigest !== entry.digests[r.rank]) {
        throw new JobError(
          'COORD_ERR_SHARD_MISMATCH',
          `rank ${r.rank} trained other samples than its shard of step ${step + 1}: ${r.count} sample(s) with digest ${r.sampleDigest}, ` +
            `its shard has ${shard.length} with digest ${entry.digests[r.rank]}`,
        );
      }
    }
    for (const r of reports) entry.reports[r.rank] = r;
    entry.reported += reports.length;
  }

  /** Every rank reported `step`. */
  complete(step: number): boolean {
    return (this.steps.get(step)?.reported ?? 0) >= this.worldSize;
  }

  /**
   * Takes a complete step out of the book, after checking that what the ranks trained
   * makes up the global batch: counts adding up to it, digests combining to its digest
   * (each rank's shard was checked on arrival; this checks the cut itself).
   */
  commit(step: number): CommittedStep {
    const entry = this.steps.get(step);
    if (entry === undefined || entry.reported < this.worldSize) throw new JobError('COORD_ERR_BAD_REPORT', `step ${step + 1} is not complete`);
    this.steps.delete(step);
    const reports = entry.reports as RankStepDone[];
    const count = reports.reduce((n, r) => n + r.count, 0);
    const digest = reports.reduce((d, r) => combineDigests(d, r.sampleDigest), 0);
    if (count !== entry.globalCount || digest !== entry.batchDigest) {
      throw new JobError(
        'COORD_ERR_SHARD_MISMATCH',
        `the ranks trained ${count} sample(s) with digest ${digest} in step ${step + 1}; ` +
          `its global batch has ${entry.globalCount} with digest ${entry.batchDigest}`,
      );
    }
    return { reports, shards: entry.shards };
  }

  private describeInFlight(): string {
    const steps = [...this.steps.keys()].sort((a, b) => a - b);
    return steps.length === 0 ? 'none' : `steps ${(steps[0] as number) + 1}..${(steps.at(-1) as number) + 1}`;
  }
}
