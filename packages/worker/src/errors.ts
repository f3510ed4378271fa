export type WorkerErrorCode =
  | 'WORKER_ERR_BAD_OPTION'
  | 'WORKER_ERR_RANK_FAILED'
  | 'WORKER_ERR_RANK_EXITED'
  | 'WORKER_ERR_STARTUP_TIMEOUT'
  | 'WORKER_ERR_STEP_TIMEOUT'
  | 'WORKER_ERR_REPLICAS_DIVERGED'
  | 'WORKER_ERR_NATIVE_THREADS'
  | 'WORKER_ERR_COORDINATOR_UNREACHABLE'
  | 'WORKER_ERR_COORDINATOR_LOST'
  | 'WORKER_ERR_LEFT'
  | 'WORKER_ERR_REFUSED'
  | 'WORKER_ERR_JOB_FAILED'
  | 'WORKER_ERR_MODEL_MISMATCH'
  | 'WORKER_ERR_DATA_MISMATCH'
  | 'WORKER_ERR_DATA_LOAD'
  /** The coordinator named a model file this worker was not given on its own command line (--model). */
  | 'WORKER_ERR_UNTRUSTED_MODEL'
  /** The coordinator named data files this worker was not given on its own command line (--dataset). */
  | 'WORKER_ERR_UNTRUSTED_DATA'
  | 'WORKER_ERR_PROTOCOL'
  /** A local job's stop signal ended it (SIGTERM to `train`); see JobStopped. */
  | 'WORKER_ERR_STOPPED';

export class WorkerError extends Error {
  readonly code: WorkerErrorCode;
  /** The rank the error is about, where one is to blame. */
  readonly rank: number | undefined;
  constructor(code: WorkerErrorCode, message: string, options?: { cause?: unknown; rank?: number }) {
    super(message, options);
    this.name = 'WorkerError';
    this.code = code;
    this.rank = options?.rank;
  }
}

/** A local job ended by its stop signal, after the steps in flight and a checkpoint of the last committed one. */
export class JobStopped extends WorkerError {
  constructor(
    /** Committed steps the checkpoint written holds (0: none was written). */
    readonly checkpointStep: number,
    /** Steps committed when it stopped. */
    readonly committedSteps: number,
    reason: string,
  ) {
    const saved = checkpointStep > 0 ? `checkpoint of step ${checkpointStep}` : 'no checkpoint';
    super('WORKER_ERR_STOPPED', `stopped (${reason}) after ${committedSteps} step(s); ${saved}`);
    this.name = 'JobStopped';
  }
}

/**
 * An error another process or thread reported (the coordinator's refusal, a data set
 * thread's failure), with the code it gave: kept as the cause of the WorkerError raised
 * here, so that code reaches the log and the coordinator.
 */
export class ReportedError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'ReportedError';
    this.code = code;
  }
}

/** The code of the innermost cause that has one (what the coordinator is told). */
export function rootCode(error: Error): string {
  let code = 'WORKER_ERR_RANK_FAILED';
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const own = (e as { code?: unknown }).code;
    if (typeof own === 'string') code = own;
  }
  return code;
}
