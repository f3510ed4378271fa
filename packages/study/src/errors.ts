export type StudyErrorCode =
  /** An option of `runStudy` (budget, workers, out) is not valid. */
  | 'STUDY_ERR_BAD_OPTION'
  /** A training run failed in a worker for a reason other than divergence. */
  | 'STUDY_ERR_RUN_FAILED'
  /** A question asked for results of a configuration that was not run. */
  | 'STUDY_ERR_MISSING_RESULT'
  /** The report could not be put together (a chart missing from the rendered figures). */
  | 'STUDY_ERR_REPORT'
  /** A model's BN layers are not plain (group-of-one) SyncBN, so local BN cannot be simulated. */
  | 'STUDY_ERR_BN_GROUP'
  /** A module meant to run as a study worker thread was loaded on the main thread. */
  | 'STUDY_ERR_NOT_A_THREAD';

export class StudyError extends Error {
  readonly code: StudyErrorCode;
  constructor(code: StudyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StudyError';
    this.code = code;
  }
}
