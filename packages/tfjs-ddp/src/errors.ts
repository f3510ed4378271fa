export type FitErrorCode =
  /** The model cannot be trained by fit (inputs, outputs, its loss or optimizer). */
  | 'FIT_ERR_MODEL'
  /** The data does not fit the model, or is not data fit reads. */
  | 'FIT_ERR_DATA'
  /** An option is unknown or out of range. */
  | 'FIT_ERR_OPTION';

/** An error of the library API, with a code to branch on. Errors of a rank thread keep their own codes (WORKER_ERR_*, TRAINER_ERR_*). */
export class FitError extends Error {
  readonly code: FitErrorCode;
  constructor(code: FitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FitError';
    this.code = code;
  }
}
