import { Worker } from 'node:worker_threads';
import type { SharedDatasetHandle } from '@tfjs-ddp/data';
import { ReportedError, WorkerError } from './errors.js';

const DATASET_THREAD = new URL('./dataset-thread.js', import.meta.url);

/** What the data set thread is asked for (its workerData). */
export interface DatasetRequest {
  spec: string;
  seed: number;
}

/** The data set thread's one answer. SharedArrayBuffers cross without a copy. */
export type DatasetReply =
  | { kind: 'loaded'; fingerprint: string; train: SharedDatasetHandle; test: SharedDatasetHandle }
  | { kind: 'failed'; message: string; code?: string };

export interface LoadedDataset {
  /** The training split's fingerprint, to compare with the coordinator's. */
  fingerprint: string;
  train: SharedDatasetHandle;
  test: SharedDatasetHandle;
}

/**
 * Opens a data set by its command-line name in a thread of its own and returns it in
 * shared memory. Parsing the bundled MNIST (21 MB of JSON), hashing and copying it take
 * the CPU for seconds at a time (about 5 s with the machine busy, 12 s measured when
 * four rank threads start beside it on two cores); on the main thread that silences
 * the coordinator link, whose pongs the coordinator needs within 3 s.
 * The thread is ended after `timeoutMs` (WORKER_ERR_STARTUP_TIMEOUT), or at once when
 * `signal` aborts (WORKER_ERR_LEFT: the worker is leaving and must not wait for it).
 */
export function loadSharedDataset(request: DatasetRequest, timeoutMs: number, signal?: AbortSignal): Promise<LoadedDataset> {
  return new Promise<LoadedDataset>((resolve, reject) => {
    const thread = new Worker(DATASET_THREAD, { workerData: request, stdout: false, stderr: false });
    let settled = false;
    const settle = (error: Error | undefined, value?: LoadedDataset): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // The thread exits by itself after its answer; terminate ends one that timed out or hangs.
      void thread.terminate();
      if (error !== undefined) reject(error);
      else if (value !== undefined) resolve(value);
    };
    const seconds = Math.round(timeoutMs / 1000);
    const timedOut = (): WorkerError => new WorkerError('WORKER_ERR_STARTUP_TIMEOUT', `the data set "${request.spec}" did not load within ${seconds} s`);
    const timer = setTimeout(() => settle(timedOut()), timeoutMs);
    const onAbort = (): void => settle(new WorkerError('WORKER_ERR_LEFT', `stopped loading "${request.spec}": ${String(signal?.reason)}`));
    if (signal?.aborted === true) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    thread.once('message', (reply: DatasetReply) => {
      if (reply.kind === 'loaded') {
        settle(undefined, { fingerprint: reply.fingerprint, train: reply.train, test: reply.test });
        return;
      }
      // The data package's own error (DATA_ERR_*) stays the cause, so its code reaches the coordinator.
      const cause = new ReportedError(reply.message, reply.code);
      settle(new WorkerError('WORKER_ERR_DATA_LOAD', `could not load the data set "${request.spec}": ${reply.message}`, { cause }));
    });
    thread.once('error', (error) => settle(new WorkerError('WORKER_ERR_DATA_LOAD', `the data set thread crashed: ${error.message}`, { cause: error })));
    thread.once('exit', (code) => settle(new WorkerError('WORKER_ERR_DATA_LOAD', `the data set thread exited with code ${code} before it answered`)));
  });
}
