export type BenchErrorCode =
  /** A benchmark's flags are wrong (unknown flag, bad value), or --help was asked for. */
  | 'BENCH_ERR_USAGE'
  /** A process the benchmark started (a rank, the gloo or PyTorch comparison) failed. */
  | 'BENCH_ERR_CHILD_FAILED';

export class BenchError extends Error {
  readonly code: BenchErrorCode;
  constructor(code: BenchErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchError';
    this.code = code;
  }
}
