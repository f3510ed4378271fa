/**
 * Errors raised while decoding or validating bytes that came from the network. Every
 * error carries a stable `code`; callers and tests branch on the code, never on the
 * wording. A `ProtocolError` means "this peer sent something we will not accept": the
 * connection it came from is closed, nothing else changes.
 */
export type ProtocolErrorCode =
  | 'PROTOCOL_ERR_VERSION'
  | 'PROTOCOL_ERR_UNKNOWN_TYPE'
  | 'PROTOCOL_ERR_DECODE'
  | 'PROTOCOL_ERR_FIELD'
  | 'PROTOCOL_ERR_DTYPE'
  | 'PROTOCOL_ERR_LENGTH'
  | 'PROTOCOL_ERR_TOO_LARGE'
  | 'PROTOCOL_ERR_TRUNCATED';

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

export function protocolError(code: ProtocolErrorCode, message: string, cause?: unknown): ProtocolError {
  return new ProtocolError(code, message, cause === undefined ? undefined : { cause });
}

export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}
