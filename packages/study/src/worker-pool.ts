import { Worker } from 'node:worker_threads';
import { StudyError } from './errors.js';
import type { RunResult } from './results.js';
import type { RunRequest } from './run-config.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-messages.js';

export interface WorkerPoolOptions {
  /** Worker threads, each with its own wasm backend (one core each). */
  workers: number;
  init: WorkerInit;
  /** Called as each run finishes, in the order they finish. */
  onResult?: (result: RunResult) => void;
}

/**
 * Runs every request on a pool of worker threads, handing the next request to whichever
 * worker finishes first (so give the longest first). Results come back in request order.
 * The first failure stops every worker and rejects.
 */
export function runOnWorkers(requests: readonly RunRequest[], options: WorkerPoolOptions): Promise<RunResult[]> {
  if (!Number.isInteger(options.workers) || options.workers < 1) {
    return Promise.reject(new StudyError('STUDY_ERR_BAD_OPTION', `workers must be a positive integer, got ${options.workers}`));
  }
  if (requests.length === 0) return Promise.resolve([]);
  const order = new Map(requests.map((r, i) => [r.key, i]));
  const results: (RunResult | undefined)[] = new Array<RunResult | undefined>(requests.length);
  let next = 0;
  let finished = 0;
  const workers: Worker[] = [];
  return new Promise<RunResult[]>((resolve, reject) => {
    let settled = false;
    const stopAll = (): void => {
      for (const w of workers) void w.terminate();
    };
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      stopAll();
      reject(error);
    };
    const feed = (worker: Worker): void => {
      const request = requests[next++];
      const message: ToWorker = request === undefined ? { type: 'stop' } : { type: 'run', request };
      worker.postMessage(message);
    };
    const count = Math.min(options.workers, requests.length);
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL('./run-worker.js', import.meta.url), { workerData: options.init });
      workers.push(worker);
      worker.on('message', (message: FromWorker) => {
        if (settled) return;
        switch (message.type) {
          case 'ready':
            feed(worker);
            return;
          case 'result': {
            const index = order.get(message.result.key);
            if (index === undefined) return fail(new StudyError('STUDY_ERR_RUN_FAILED', `a worker returned an unknown run ${message.result.key}`));
            results[index] = message.result;
            options.onResult?.(message.result);
            finished++;
            if (finished === requests.length) {
              settled = true;
              stopAll();
              resolve(results as RunResult[]);
            } else feed(worker);
            return;
          }
          case 'failed':
            const code = message.code === undefined ? '' : ` (${message.code})`;
            return fail(new StudyError('STUDY_ERR_RUN_FAILED', `run ${message.key} failed${code}: ${message.message}`));
        }
      });
      worker.on('error', (error) => fail(new StudyError('STUDY_ERR_RUN_FAILED', `a study worker crashed: ${error.message}`, { cause: error })));
      worker.on('exit', (code) => {
        if (!settled && code !== 0) fail(new StudyError('STUDY_ERR_RUN_FAILED', `a study worker exited with code ${code} before the study was done`));
      });
    }
  });
}
