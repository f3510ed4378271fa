/**
 * Errors of a job's own logic, whoever runs it (the coordinator, or a worker's local job).
 * Every error carries a stable `code`; callers and tests branch on the code.
 *
 * The report checks and the step deadline keep the codes they had when the job driver
 * lived in the coordinator (`COORD_ERR_BAD_REPORT`, `COORD_ERR_SHARD_MISMATCH`,
 * `COORD_ERR_STEP_TIMEOUT`): workers' logs, the README and operators' alerts name them,
 * and a code is a promise, not a place in the source tree.
 */
export type JobErrorCode =
  /** An option out of range (a schedule of 0 epochs, endpoints whose ranks are not contiguous). */
  | 'JOB_ERR_BAD_OPTION'
  /** A step outside the schedule. */
  | 'JOB_ERR_ARGUMENT'
  /** A model folder could not be written (disk full, I/O error); nothing half-written is left. */
  | 'JOB_ERR_WRITE'
  /** Not every rank reported a step, an evaluation or the finish within the step deadline. */
  | 'COORD_ERR_STEP_TIMEOUT'
  /** A step report that cannot be right: a step not in flight, a rank twice, an impossible timing. */
  | 'COORD_ERR_BAD_REPORT'
  /** A rank trained other samples than its shard, or the shards do not make up the global batch. */
  | 'COORD_ERR_SHARD_MISMATCH';

export class JobError extends Error {
  readonly code: JobErrorCode;
  constructor(code: JobErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JobError';
    this.code = code;
  }
}
