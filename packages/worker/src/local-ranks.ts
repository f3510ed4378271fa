import type { RankStepDone } from '@tfjs-ddp/protocol';
import type { Evaluation } from '@tfjs-ddp/trainer';
import { WorkerError } from './errors.js';
import type { CheckpointTaken, Finished, RankFailed, RankReady, RankReport } from './rank-messages.js';

export interface LocalRanksHandlers {
  onReady: (ready: RankReady[]) => void;
  /** Every local rank reported the step. */
  onStep: (step: number, reports: RankStepDone[]) => void;
  /** Every local rank finished the end-of-epoch work; rank 0's evaluation if it is here. */
  onEvaluated: (epoch: number, evaluation: Evaluation | undefined) => void;
  /** Every local rank joined the ring of the current generation. */
  onRegrouped: () => void;
  /** Rank 0 (if it is here) took a checkpoint after `step`. */
  onCheckpoint: (step: number, data: NonNullable<CheckpointTaken['data']>) => void;
  onFinished: (finished: Finished[]) => void;
  /** The first failure of any local rank in a generation. A fatal one ends the process's part in the job. */
  onFailed: (error: WorkerError, fatal: boolean) => void;
}

/**
 * Turns the reports of a process's rank threads into per-process events: a step, an
 * evaluation, a regroup or the finish is done when every local rank has reported it.
 * Reports of an older generation (sent before a regroup) are dropped.
 */
export class LocalRanks {
  private generation: number;
  private readonly ready: RankReady[] = [];
  private readonly steps = new Map<number, RankStepDone[]>();
  private readonly evaluated = new Map<number, { count: number; evaluation?: Evaluation }>();
  private regrouped = 0;
  private readonly finished: Finished[] = [];
  private failedIn: number | undefined;
  /** The last step every local rank reported (-1: none). */
  lastStep = -1;

  constructor(
    private readonly ranks: number,
    generation: number,
    private readonly handlers: LocalRanksHandlers,
  ) {
    this.generation = generation;
  }

  /** A new ring begins: forget what was in flight. */
  startGeneration(generation: number): void {
    this.generation = generation;
    this.steps.clear();
    this.evaluated.clear();
    this.regrouped = 0;
    this.failedIn = undefined;
  }

  receive(report: RankReport): void {
    switch (report.kind) {
      case 'ready':
        this.ready.push(report);
        if (this.ready.length === this.ranks) this.handlers.onReady(this.ready.sort((a, b) => a.rank - b.rank));
        return;
      case 'stepDone': {
        if (report.generation !== this.generation) return;
        const list = this.steps.get(report.step) ?? [];
        list.push(report.report);
        if (list.length < this.ranks) {
          this.steps.set(report.step, list);
          return;
        }
        this.steps.delete(report.step);
        this.lastStep = Math.max(this.lastStep, report.step);
        this.handlers.onStep(report.step, list.sort((a, b) => a.rank - b.rank));
        return;
      }
      case 'evaluated': {
        if (report.generation !== this.generation) return;
        const entry = this.evaluated.get(report.epoch) ?? { count: 0 };
        entry.count++;
        if (report.evaluation !== undefined) entry.evaluation = report.evaluation;
        if (entry.count < this.ranks) {
          this.evaluated.set(report.epoch, entry);
          return;
        }
        this.evaluated.delete(report.epoch);
        this.handlers.onEvaluated(report.epoch, entry.evaluation);
        return;
      }
      case 'regrouped':
        if (report.generation !== this.generation) return;
        if (++this.regrouped === this.ranks) this.handlers.onRegrouped();
        return;
      case 'checkpoint':
        if (report.data !== undefined) this.handlers.onCheckpoint(report.step, report.data);
        return;
      case 'finished':
        this.finished.push(report);
        if (this.finished.length === this.ranks) this.handlers.onFinished(this.finished.sort((a, b) => a.rank - b.rank));
        return;
      case 'failed':
        this.fail(report);
        return;
    }
  }

  private fail(report: RankFailed): void {
    if (!report.fatal && (report.generation !== this.generation || this.failedIn === this.generation)) return;
    this.failedIn = this.generation;
    const own = report.code?.startsWith('WORKER_ERR_') ? (report.code as WorkerError['code']) : undefined;
    // The rank's own error (with its code) is the cause: callers report the root cause's code.
    const cause = Object.assign(new Error(report.message), { code: report.code });
    const error = new WorkerError(own ?? 'WORKER_ERR_RANK_FAILED', `rank ${report.rank}: ${report.message}`, { rank: report.rank, cause });
    this.handlers.onFailed(error, report.fatal);
  }
}
