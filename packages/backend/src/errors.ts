/** Error codes of this package; tests check the code, not the wording. */
export type BackendErrorCode =
  | 'BACKEND_ERR_UNKNOWN_NAME'
  | 'BACKEND_ERR_UNAVAILABLE'
  | 'BACKEND_ERR_WASM_BINARIES_MISSING'
  | 'BACKEND_ERR_BAD_SHAPE';

export class BackendError extends Error {
  readonly code: BackendErrorCode;
  constructor(code: BackendErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendError';
    this.code = code;
  }
}
