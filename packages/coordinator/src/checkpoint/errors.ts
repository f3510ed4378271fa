/**
 * Errors of the checkpoint module, each with a stable `code` (callers and tests branch on
 * the code, never on the wording). `dir` and `file` name what was refused, so a CLI can
 * print it and an operator can look at it.
 */
export type CheckpointErrorCode =
  /** No complete checkpoint in the run folder: nothing to resume from. */
  | 'CHECKPOINT_ERR_NONE'
  /** A checkpoint folder failed verification: a checksum, a missing file, bad JSON, sizes that disagree. */
  | 'CHECKPOINT_ERR_CORRUPT'
  /** A checkpoint written in a format version this code does not read (a newer tfjs-ddp wrote it). */
  | 'CHECKPOINT_ERR_VERSION'
  /** writeCheckpoint was handed something it would refuse to read back; nothing was written. */
  | 'CHECKPOINT_ERR_BAD_INPUT';

export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;
  /** The checkpoint folder (or the folder searched, for CHECKPOINT_ERR_NONE). */
  readonly dir: string | undefined;
  /** The file inside `dir` that failed, when one did. */
  readonly file: string | undefined;

  constructor(code: CheckpointErrorCode, message: string, options?: { dir?: string; file?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CheckpointError';
    this.code = code;
    this.dir = options?.dir;
    this.file = options?.file;
  }
}

export function isCheckpointError(err: unknown): err is CheckpointError {
  return err instanceof CheckpointError;
}
