export type CliErrorCode =
  /** `tfjs-ddp bench` found no built benchmark (an image without the source tree's bench/). */
  | 'CLI_ERR_NO_BENCH'
  /** The job token is missing, or its file cannot be read or is empty. */
  | 'CLI_ERR_TOKEN'
  /** TFJS_DDP_LAUNCH_INDEX (set by --procs in its rank processes) is not a process index. */
  | 'CLI_ERR_LAUNCH_INDEX';

/** An error of the command line itself (not of the job it runs); main.ts prints its code. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
  }
}
