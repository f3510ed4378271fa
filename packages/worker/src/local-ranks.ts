import type { RankStepReport } from '@tfjs-ddp/protocol';
import type { Evaluation } from '@tfjs-ddp/trainer';
import { WorkerError } from './errors.js';
import type { Finished, RankReady, RankReport } from './rank-messages.js';

export interface LocalRanksHandlers {
  onReady: (ready: RankReady[]) => void;
  /** Every local rank reported the step. */
  onStep: (step: number, reports: RankStepReport[]) => void;
  /** Every local rank finished the end-of-epoch work; rank 0's evaluation if it is here. */
  onEvaluated: (epoch: number, evaluation: Evaluation | undefined) => void;
  onFinished: (finished: Finished[]) => void;
  /** The first failure of any local rank. */
  onFailed: (error: WorkerError) => void;
}

/**
 * Turns the reports of a process's rank threads into per-process events: a step, an
 * evaluation or the finish is done when every local rank has reported it.
 */
export class LocalRanks {
  private readonly ready: RankReady[] = [];
  private readonly steps = new Map<number, RankStepReport[]>();
  private readonly evaluated = new Map<number, { count: number; evaluation?: Evaluation }>();
  private readonly finished: Finished[] = [];
  private failed = false;

  constructor(
    private readonly ranks: number,
    private readonly handlers: LocalRanksHandlers,
  ) {}

  receive(report: RankReport): void {
    if (this.failed) return;
    switch (report.kind) {
      case 'ready':
        this.ready.push(report);
        if (this.ready.length === this.ranks) this.handlers.onReady(this.ready.sort((a, b) => a.rank - b.rank));
        break;
      case 'stepDone': {
        const list = this.steps.get(report.step) ?? [];
        list.push(report.report);
        if (list.length === this.ranks) {
          this.steps.delete(report.step);
          this.handlers.onStep(report.step, list.sort((a, b) => a.rank - b.rank));
        } else this.steps.set(report.step, list);
        break;
      }
      case 'evaluated': {
        const entry = this.evaluated.get(report.epoch) ?? { count: 0 };
        entry.count++;
        if (report.evaluation !== undefined) entry.evaluation = report.evaluation;
        if (entry.count === this.ranks) {
          this.evaluated.delete(report.epoch);
          this.handlers.onEvaluated(report.epoch, entry.evaluation);
        } else this.evaluated.set(report.epoch, entry);
        break;
      }
      case 'finished':
        this.finished.push(report);
        if (this.finished.length === this.ranks) this.handlers.onFinished(this.finished.sort((a, b) => a.rank - b.rank));
        break;
      case 'failed': {
        this.failed = true;
        const own = report.code?.startsWith('WORKER_ERR_') ? (report.code as WorkerError['code']) : undefined;
        // The rank's own error (with its code) is the cause: callers report the root cause's code.
        const cause = Object.assign(new Error(report.message), { code: report.code });
        this.handlers.onFailed(new WorkerError(own ?? 'WORKER_ERR_RANK_FAILED', `rank ${report.rank}: ${report.message}`, { rank: report.rank, cause }));
        break;
      }
    }
  }
}
