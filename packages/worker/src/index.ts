export { runLocalJob } from './local-job.js';
export type { LocalJobHooks, LocalJobOptions, LocalJobResult } from './local-job.js';
export type { StepTimings } from './rank-messages.js';
export { WorkerError } from './errors.js';
export type { WorkerErrorCode } from './errors.js';
