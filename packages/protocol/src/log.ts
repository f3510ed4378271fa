/**
 * The structured log every process of a job writes to (pino-compatible): an object of
 * fields, then a message. The coordinator and the worker take one; tests pass a recorder.
 */
export interface StructuredLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** A log that drops everything (the default where none is given). */
export const SILENT_LOG: StructuredLog = { info: () => undefined, warn: () => undefined, error: () => undefined };
