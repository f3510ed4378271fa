export type CoordinatorErrorCode =
  | 'COORD_ERR_BAD_OPTION'
  | 'COORD_ERR_PORT_IN_USE'
  | 'COORD_ERR_WORKERS_MISSING'
  | 'COORD_ERR_WORKER_LOST'
  | 'COORD_ERR_WORKER_FAILED'
  | 'COORD_ERR_RING_FAILED'
  | 'COORD_ERR_STEP_TIMEOUT'
  | 'COORD_ERR_BAD_TOKEN'
  | 'COORD_ERR_WRONG_JOB'
  | 'COORD_ERR_JOB_FULL'
  | 'COORD_ERR_HANDSHAKE_TIMEOUT'
  | 'COORD_ERR_UNEXPECTED_MESSAGE'
  | 'COORD_ERR_BAD_REPORT'
  | 'COORD_ERR_SHARD_MISMATCH'
  | 'COORD_ERR_CLOSED'
  | 'COORD_ERR_DASHBOARD_ASSETS'
  /** The job trained but its final model could not be written (nothing half-written is left). */
  | 'COORD_ERR_MODEL_WRITE'
  | 'COORD_ERR_WS_INTERNALS';

export class CoordinatorError extends Error {
  readonly code: CoordinatorErrorCode;
  constructor(code: CoordinatorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CoordinatorError';
    this.code = code;
  }
}
