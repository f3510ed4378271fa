export type NnErrorCode = 'NN_ERR_UNKNOWN_MODEL' | 'NN_ERR_BAD_OPTION' | 'NN_ERR_CONVERSION' | 'NN_ERR_BAD_INPUT' | 'NN_ERR_RECALIBRATION';

export class NnError extends Error {
  readonly code: NnErrorCode;
  constructor(code: NnErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NnError';
    this.code = code;
  }
}
