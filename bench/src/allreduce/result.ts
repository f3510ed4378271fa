/** One JSON line of results, in the nccl-tests convention (bandwidths in GB/s). */
export interface BenchLine {
  readonly transport: string;
  readonly algorithm: string;
  readonly ranks: number;
  readonly bytes: number;
  readonly algbw: number;
  readonly busbw: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  /**
   * CPU time (user + system, every thread) all ranks together spent per timed call, in ms:
   * on a machine with fewer cores than ranks the time per call follows it, and it varies
   * far less than wall time when other work shares the machine. Processes and gloo only.
   */
  readonly cpu_ms_per_op?: number;
}

/** Per-call times (ms) of one size: algbw = bytes / p50 time, busbw = algbw * 2(P-1)/P. */
export function summarize(transport: string, algorithm: string, ranks: number, bytes: number, timesMs: readonly number[], cpuMsPerOp?: number): BenchLine {
  const sorted = [...timesMs].sort((a, b) => a - b);
  const p50 = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? NaN;
  const algbw = bytes / (p50 / 1000) / 1e9;
  const round = (x: number): number => Math.round(x * 10_000) / 10_000;
  return {
    transport,
    algorithm,
    ranks,
    bytes,
    algbw: round(algbw),
    busbw: round((algbw * 2 * (ranks - 1)) / ranks),
    p50_ms: round(p50),
    p99_ms: round(p99),
    ...(cpuMsPerOp === undefined ? {} : { cpu_ms_per_op: round(cpuMsPerOp) })
  };
}
