export { runLocalJob, threadBackend, GRADIENT_ARENA_BYTES } from './local-job.js';
export type { LocalCheckpointing, LocalCheckpoints, LocalJobHooks, LocalJobOptions, LocalJobResult } from './local-job.js';
export { JobStopped, WorkerError } from './errors.js';
export type { WorkerErrorCode } from './errors.js';
export { runWorker } from './worker-process.js';
export type { WorkerProcessOptions, WorkerProcessResult } from './worker-process.js';
export { WRONG_SHARD_ENV } from './test-faults.js';
