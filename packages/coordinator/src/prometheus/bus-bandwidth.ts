import type { RankStepReport } from '@tfjs-ddp/protocol';

/** Bytes of one float32 gradient element. */
const FLOAT32_BYTES = 4;

/** One step's gradient all-reduce as nccl-tests would report it. */
export interface AllReduceRates {
  /** Bytes of the buffer every rank all-reduced (the whole gradient). */
  bytes: number;
  /** Seconds the collective itself took (see `allReduceSeconds`). */
  seconds: number;
  /** bytes / seconds. */
  algbw: number;
  /** algbw * 2(P-1)/P: what each rank's link carried per second in a ring. */
  busbw: number;
}

/** Bytes all-reduced every step: the gradient holds one float32 per trainable parameter. */
export function gradientBytes(parameters: number): number {
  return parameters * FLOAT32_BYTES;
}

/**
 * The all-reduce's own duration in one step, in seconds: the least time any rank spent in
 * it. A rank that reaches the collective early also measures its wait for the others; the
 * last one to arrive measures (almost) only the transfer, and it is the fastest.
 */
export function allReduceSeconds(reports: readonly RankStepReport[]): number {
  let least = Infinity;
  for (const r of reports) if (r.allReduceMs < least) least = r.allReduceMs;
  return Number.isFinite(least) ? least / 1000 : 0;
}

/**
 * algbw and busbw in the nccl-tests convention (PERFORMANCE.md there): algbw = bytes /
 * time; busbw = algbw * 2(P-1)/P for all-reduce, the factor that makes busbw comparable
 * with the link's peak whatever the rank count. Undefined when there is nothing to measure
 * (one rank exchanges nothing; a zero time or size has no rate).
 */
export function allReduceRates(bytes: number, seconds: number, ranks: number): AllReduceRates | undefined {
  if (!(bytes > 0) || !(seconds > 0) || ranks < 2) return undefined;
  const algbw = bytes / seconds;
  return { bytes, seconds, algbw, busbw: (algbw * 2 * (ranks - 1)) / ranks };
}
