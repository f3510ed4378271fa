import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { EpochEvaluation, StepProgress } from '@tfjs-ddp/job';
import type { RankStepReport, StructuredLog } from '@tfjs-ddp/protocol';

export const METRICS_FILE = 'metrics.jsonl';

/** One line of metrics.jsonl per step and per epoch: what the study report and the dashboard read. */
export type MetricsRecord =
  | {
      kind: 'step';
      time: string;
      step: number;
      epoch: number;
      loss: number;
      accuracy: number;
      samples: number;
      samplesPerSec: number;
      /** Slowest rank's step wall time, ms. */
      stepMs: number;
      ranks: RankStepReport[];
    }
  | {
      kind: 'epoch';
      time: string;
      epoch: number;
      testAccuracy: number;
      testLoss: number;
      /** The BN recalibration (precise BN) before this evaluation (wall ms on rank 0, samples), when one ran. */
      bnRecalibration?: { ms: number; samples: number };
    };

/**
 * Appends metrics records to `<dir>/metrics.jsonl` (created empty at the start of a job).
 * The file is a record of the run, not part of it: when it cannot be created or appended
 * to (a full disk, a lost volume) that is reported once, at error, and kept in `lost`
 * (for /status and /metrics); training goes on and later records are counted in
 * `dropped`, not written, so the file never holds lines after a gap.
 */
export class MetricsLog {
  readonly file: string;
  /** Why the file stopped being written (undefined while it is written). */
  lost: string | undefined;
  /** Records not written since the file was lost. */
  dropped = 0;
  private readonly log: StructuredLog | undefined;

  /** `append`: a resumed run adds to the records of the run it continues. */
  constructor(
    dir: string,
    options: { append?: boolean; log?: StructuredLog } = {},
  ) {
    this.file = path.join(dir, METRICS_FILE);
    this.log = options.log;
    try {
      mkdirSync(dir, { recursive: true });
      if (options.append !== true || !existsSync(this.file)) writeFileSync(this.file, '');
    } catch (error) {
      this.lose(error as Error);
    }
  }

  step(progress: StepProgress, reports: readonly RankStepReport[]): MetricsRecord {
    const record: MetricsRecord = {
      kind: 'step',
      time: new Date().toISOString(),
      step: progress.step,
      epoch: progress.epoch,
      loss: progress.loss,
      accuracy: progress.accuracy,
      samples: progress.samples,
      samplesPerSec: progress.samplesPerSec,
      stepMs: Math.max(0, ...reports.map(stepWallMs)),
      ranks: [...reports],
    };
    this.append(record);
    return record;
  }

  epoch(epoch: number, evaluation: EpochEvaluation): MetricsRecord {
    const record: MetricsRecord = { kind: 'epoch', time: new Date().toISOString(), epoch, testAccuracy: evaluation.accuracy, testLoss: evaluation.loss };
    // Rank 0's evaluation carries it through the job driver untyped (trainer's Evaluation; this package has no tfjs).
    const recalibration = (evaluation as { bnRecalibration?: { ms: number; samples: number; skipped?: string } }).bnRecalibration;
    if (recalibration !== undefined && recalibration.skipped === undefined) {
      record.bnRecalibration = { ms: Math.round(recalibration.ms), samples: recalibration.samples };
    }
    this.append(record);
    return record;
  }

  private append(record: MetricsRecord): void {
    if (this.lost !== undefined) {
      this.dropped += 1;
      return;
    }
    try {
      appendFileSync(this.file, `${JSON.stringify(record)}\n`);
    } catch (error) {
      this.dropped += 1;
      this.lose(error as Error);
    }
  }

  private lose(error: Error): void {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    this.lost = `${this.file}: ${error.message}`;
    const rest = 'training goes on; the records after this one are not saved (they still reach /metrics and the dashboard)';
    this.log?.error({ file: this.file, code }, `metrics file not written (${error.message}); ${rest}`);
  }
}

/** A rank's wall time for one step, ms. */
export function stepWallMs(report: RankStepReport): number {
  return report.computeMs + report.syncBnMs + report.allReduceMs + report.applyMs;
}
