import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { StudyError } from './errors.js';
import type { RunResult } from './results.js';
import type { RunRequest } from './run-config.js';
import type { RunTaskOutcome, WorkerInit } from './worker-messages.js';

export interface WorkerPoolOptions {
  /** Worker threads, each with its own wasm backend (one core each). */
  workers: number;
  init: WorkerInit;
  /** Called as each run finishes, in the order they finish. */
  onResult?: (result: RunResult) => void;
  /** Seconds a run may take from its start; past that its thread is ended and the run fails. Default: no limit. */
  runDeadlineSec?: number;
}

const RUN_WORKER = fileURLToPath(new URL('./run-worker.js', import.meta.url));

/** One failed run: its key and why, for the pool's error. */
interface Failure {
  key: string;
  reason: string;
}

/**
 * Runs every request on a piscina pool of worker threads, in request order as threads
 * free up (so give the longest first). At most `workers` runs are handed to piscina at
 * once, so a run's deadline counts from its start, not from its wait in a queue. A run
 * that fails does not stop the others: every run goes to the end, each result reaches
 * `onResult`, and then, if any failed, the promise rejects with STUDY_ERR_RUN_FAILED
 * naming each failed run. Otherwise it resolves with the results in request order.
 */
export async function runOnWorkers(requests: readonly RunRequest[], options: WorkerPoolOptions): Promise<RunResult[]> {
  if (!Number.isInteger(options.workers) || options.workers < 1) {
    throw new StudyError('STUDY_ERR_BAD_OPTION', `workers must be a positive integer, got ${options.workers}`);
  }
  const deadline = options.runDeadlineSec;
  if (deadline !== undefined && !(deadline > 0)) throw new StudyError('STUDY_ERR_BAD_OPTION', `runDeadlineSec must be positive, got ${deadline}`);
  if (requests.length === 0) return [];
  const threads = Math.min(options.workers, requests.length);
  const pool = new Piscina<RunRequest, RunTaskOutcome>({ filename: RUN_WORKER, workerData: options.init, minThreads: threads, maxThreads: threads });
  const results = new Array<RunResult | undefined>(requests.length);
  const failures: Failure[] = [];
  let next = 0;
  const runOne = async (index: number, request: RunRequest): Promise<void> => {
    const signal = deadline === undefined ? null : AbortSignal.timeout(deadline * 1000);
    try {
      const outcome = await pool.run(request, { signal });
      if (outcome.type === 'failed') {
        failures.push({ key: outcome.key, reason: `${outcome.code === undefined ? '' : `(${outcome.code}) `}${outcome.message}` });
        return;
      }
      results[index] = outcome.result;
      options.onResult?.(outcome.result);
    } catch (error) {
      // Thrown here, not answered: piscina ended the thread (deadline) or the thread itself failed (crash, failed start).
      const reason =
        signal?.aborted === true ? `passed its deadline of ${deadline} s and was stopped` : `its worker thread failed: ${(error as Error).message}`;
      failures.push({ key: request.key, reason });
    }
  };
  // `threads` lanes, each taking the next request when its run ends.
  const lane = async (): Promise<void> => {
    for (let index = next++; index < requests.length; index = next++) await runOne(index, requests[index] as RunRequest);
  };
  try {
    await Promise.all(Array.from({ length: threads }, lane));
  } finally {
    await pool.destroy();
  }
  if (failures.length > 0) {
    const list = failures.map((f) => `run ${f.key}: ${f.reason}`).join('\n');
    throw new StudyError('STUDY_ERR_RUN_FAILED', `${failures.length} of ${requests.length} runs failed (the others ran to the end):\n${list}`);
  }
  return results as RunResult[];
}
