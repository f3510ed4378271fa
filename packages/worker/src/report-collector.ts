import { WorkerError } from './errors.js';
import type { Evaluated, Finished, RankReady, RankReport, StepDone } from './rank-messages.js';

interface Waiter {
  ready: () => boolean;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Gathers the reports of every rank and lets the job wait, with a deadline, until all
 * ranks have reported a given thing. The first failure of any rank fails every wait.
 */
export class ReportCollector {
  readonly ready = new Map<number, RankReady>();
  private readonly steps = new Map<number, StepDone[]>();
  private readonly evaluated = new Map<number, Evaluated[]>();
  readonly finished = new Map<number, Finished>();
  private failure: WorkerError | undefined;
  private waiters = new Set<Waiter>();

  constructor(private readonly ranks: number) {}

  receive(report: RankReport): void {
    switch (report.kind) {
      case 'ready':
        this.ready.set(report.rank, report);
        break;
      case 'stepDone':
        this.append(this.steps, report.step, report);
        break;
      case 'evaluated':
        this.append(this.evaluated, report.epoch, report);
        break;
      case 'finished':
        this.finished.set(report.rank, report);
        break;
      case 'failed':
        if (this.failure === undefined) {
          const own = report.code?.startsWith('WORKER_ERR_') ? (report.code as WorkerError['code']) : undefined;
          // The rank's own error (with its code) is the cause: callers report the root cause's code.
          const cause = Object.assign(new Error(report.message), { code: report.code });
          this.failure = new WorkerError(own ?? 'WORKER_ERR_RANK_FAILED', `rank ${report.rank}: ${report.message}`, { rank: report.rank, cause });
        }
        break;
    }
    for (const waiter of [...this.waiters]) this.settle(waiter);
  }

  /** Resolves once `ready()` holds; rejects at the first failure or after `timeoutMs`. */
  waitFor(what: string, ready: () => boolean, timeoutMs: number, timeoutCode: WorkerError['code']): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new WorkerError(timeoutCode, `${what}: no answer from every rank within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const waiter: Waiter = {
        ready,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
      this.settle(waiter);
    });
  }

  allReady(): boolean {
    return this.ready.size === this.ranks;
  }

  stepReports(step: number): StepDone[] | undefined {
    const reports = this.steps.get(step);
    return reports?.length === this.ranks ? reports : undefined;
  }

  takeStep(step: number): StepDone[] {
    const reports = this.stepReports(step) ?? [];
    this.steps.delete(step);
    return reports;
  }

  evaluations(epoch: number): Evaluated[] | undefined {
    const reports = this.evaluated.get(epoch);
    return reports?.length === this.ranks ? reports : undefined;
  }

  allFinished(): boolean {
    return this.finished.size === this.ranks;
  }

  private append<T>(map: Map<number, T[]>, key: number, value: T): void {
    const list = map.get(key) ?? [];
    list.push(value);
    map.set(key, list);
  }

  private settle(waiter: Waiter): void {
    if (this.failure !== undefined) {
      this.waiters.delete(waiter);
      waiter.reject(this.failure);
    } else if (waiter.ready()) {
      this.waiters.delete(waiter);
      waiter.resolve();
    }
  }
}
