import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StepProgress } from '@tfjs-ddp/data';
import type { RankStepReport } from '@tfjs-ddp/protocol';
import type { EpochEvaluation } from './job-driver.js';

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
  | { kind: 'epoch'; time: string; epoch: number; testAccuracy: number; testLoss: number };

/** Appends metrics records to `<dir>/metrics.jsonl` (created empty at the start of a job). */
export class MetricsLog {
  readonly file: string;

  /** `append`: a resumed run adds to the records of the run it continues. */
  constructor(dir: string, options: { append?: boolean } = {}) {
    mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, METRICS_FILE);
    if (options.append !== true || !existsSync(this.file)) writeFileSync(this.file, '');
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
    this.append(record);
    return record;
  }

  private append(record: MetricsRecord): void {
    appendFileSync(this.file, `${JSON.stringify(record)}\n`);
  }
}

/** A rank's wall time for one step, ms. */
export function stepWallMs(report: RankStepReport): number {
  return report.computeMs + report.syncBnMs + report.allReduceMs + report.applyMs;
}
