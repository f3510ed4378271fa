import type { JobStatus } from '../status.js';

/**
 * What the dashboard page receives (server-sent event `snapshot`, and GET
 * /dashboard/snapshot): the job's status and its history, downsampled on the server so
 * that no series holds more than `maxPoints` points however long the run. Types only:
 * the page's own build compiles this file too.
 */
export interface DashboardSnapshot {
  status: JobStatus;
  steps: StepSeries;
  epochs: EpochSeries;
  /** The last step's gradient all-reduce (nccl-tests convention), or nulls before there is one. */
  allReduce: { bytes: number | null; algbw: number | null; busbw: number | null };
  /** Upper bound of every series' length in this snapshot. */
  maxPoints: number;
}

/** A series' values; null where it has none (a rank that did not report a step). */
export type Values = (number | null)[];

/** Per-step series, all over the x axis `step` (1-based global step). */
export interface StepSeries {
  /** Steps recorded so far (the points before downsampling). */
  count: number;
  step: number[];
  loss: Values;
  accuracy: Values;
  /** Samples per second of this step (its samples over the time since the previous step). */
  throughput: Values;
  /** Samples per second over the run so far. */
  averageThroughput: Values;
  /** Wall time of the slowest rank, ms. */
  stepMs: Values;
  /** Means over the ranks, ms: where a step's time goes. */
  computeMs: Values;
  syncBnMs: Values;
  allReduceMs: Values;
  waitMs: Values;
  /** Step wall time per rank, ms; for large jobs the fastest, median and slowest rank instead. */
  ranks: { label: string; ms: Values }[];
}

/** Per-epoch series over the x axis `epoch` (1-based). */
export interface EpochSeries {
  count: number;
  epoch: number[];
  testAccuracy: Values;
  testLoss: Values;
}
