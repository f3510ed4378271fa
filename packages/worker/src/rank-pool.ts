import { Worker } from 'node:worker_threads';
import { WorkerError } from './errors.js';
import type { RankInit, RankOrder, RankReport } from './rank-messages.js';

const RANK_THREAD = new URL('./rank-thread.js', import.meta.url);

/**
 * The rank threads of one process, each a plain worker thread that holds one replica for
 * the whole job. (piscina's model — stateless tasks handed to any free thread — does not
 * fit ranks that each keep a model and must all take part in every collective.)
 * Reports arrive through `onReport`; a thread that dies is reported as a failure.
 */
export class RankPool {
  private readonly threads: Worker[] = [];
  private closed = false;

  constructor(
    inits: RankInit[],
    private readonly onReport: (report: RankReport) => void,
  ) {
    for (const init of inits) {
      const worker = new Worker(RANK_THREAD, { stdout: false, stderr: false });
      worker.on('message', (report: RankReport) => this.onReport(report));
      worker.on('error', (error) => {
        if (this.closed) return;
        const message = `rank thread crashed: ${error.message}`;
        this.onReport({ kind: 'failed', rank: init.rank, generation: -1, fatal: true, message, code: 'WORKER_ERR_RANK_FAILED' });
      });
      worker.on('exit', (code) => {
        if (!this.closed && code !== 0) {
          const message = `rank thread exited with code ${code}`;
          this.onReport({ kind: 'failed', rank: init.rank, generation: -1, fatal: true, message, code: 'WORKER_ERR_RANK_EXITED' });
        }
      });
      worker.postMessage(init);
      this.threads.push(worker);
    }
  }

  get size(): number {
    return this.threads.length;
  }

  send(rank: number, order: RankOrder): void {
    const worker = this.threads[rank];
    if (worker === undefined) throw new WorkerError('WORKER_ERR_BAD_OPTION', `no rank thread ${rank}`);
    worker.postMessage(order);
  }

  /** Stops every thread (also one blocked in a collective); idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
