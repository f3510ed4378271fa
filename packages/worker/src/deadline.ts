import { WorkerError } from './errors.js';

/**
 * Resolves with `promise`, or rejects with `onTimeout()` if it takes longer than `ms`, or
 * with WORKER_ERR_LEFT as soon as `signal` aborts (the worker is leaving: nothing may wait on).
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      done();
      reject(new WorkerError('WORKER_ERR_LEFT', `stopped waiting: ${String(signal?.reason)}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(onTimeout());
    }, ms);
    if (signal?.aborted === true) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}
