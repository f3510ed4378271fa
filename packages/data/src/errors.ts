export type DataErrorCode =
  | 'DATA_ERR_NPY_FORMAT'
  | 'DATA_ERR_NPY_DTYPE'
  | 'DATA_ERR_SHAPE'
  | 'DATA_ERR_LENGTH_MISMATCH'
  | 'DATA_ERR_INDEX'
  | 'DATA_ERR_LABEL'
  | 'DATA_ERR_ARGUMENT'
  | 'DATA_ERR_TOO_SMALL'
  | 'DATA_ERR_TOO_LARGE'
  | 'DATA_ERR_CSV'
  | 'DATA_ERR_IMAGE'
  | 'DATA_ERR_FILE'
  | 'DATA_ERR_UNKNOWN_DATASET';

export class DataError extends Error {
  readonly code: DataErrorCode;
  constructor(code: DataErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataError';
    this.code = code;
  }
}
