import { isNativeBackend, type BackendOptions, type BackendRequest } from '@tfjs-ddp/backend';
import { WorkerError } from './errors.js';

/** What every rank thread of a process asks `initBackend` for. */
export interface RankBackend {
  request: BackendRequest;
  options: BackendOptions;
}

/**
 * The backend choice of `threads` rank threads in one process. Native backends cannot
 * run in several threads of a process (tfjs issues 8388, 2079): a named one is refused
 * here, and `auto` skips them saying so (its reason lists them as not tried, with the
 * way out), never claiming a native backend it cannot have. One thread per process
 * (`--procs`) takes the fastest backend that loads.
 */
export function threadBackend(request: BackendRequest, threads: number, allowCpu = false): RankBackend {
  if (threads === 1) return { request, options: { allowCpu } };
  if (request !== 'auto' && isNativeBackend(request)) {
    throw new WorkerError(
      'WORKER_ERR_NATIVE_THREADS',
      `the ${request} backend cannot run in more than one thread of a process (tfjs issues 8388, 2079); ` +
        'run one process per rank (--procs N instead of --threads N), or use --threads 1',
    );
  }
  const nativeRefused = `${threads} rank threads share this process and native backends need one process per rank (--procs ${threads})`;
  return { request, options: { allowCpu, nativeRefused } };
}
