import { stepWallMs, type MetricsRecord } from '../metrics-log.js';
import { downsampleMinMax } from './downsample.js';
import { GrowableColumn } from './growable-column.js';
import type { EpochSeries, StepSeries, Values } from './wire.js';

/** Up to this many ranks the page draws one line per rank; beyond, the fastest, median and slowest. */
export const MAX_RANK_LINES = 16;

const STEP_COLUMNS = ['loss', 'accuracy', 'throughput', 'averageThroughput', 'stepMs', 'computeMs', 'syncBnMs', 'allReduceMs', 'waitMs'] as const;
type StepColumn = (typeof STEP_COLUMNS)[number];
const SPREAD_LABELS = ['fastest rank', 'median rank', 'slowest rank'] as const;

type StepRecord = Extract<MetricsRecord, { kind: 'step' }>;

/**
 * Every metrics record of a job kept as columns (about 92 bytes per step, plus 4 per rank
 * while there are at most MAX_RANK_LINES ranks: 12 MB for 100 000 steps of 8 ranks), and
 * views of it downsampled to a bounded number of points for the page.
 */
export class StepHistory {
  private readonly step = new GrowableColumn();
  private readonly columns = Object.fromEntries(STEP_COLUMNS.map((name) => [name, new GrowableColumn()])) as Record<StepColumn, GrowableColumn>;
  /** Per-rank step wall time; dropped once the job has more ranks than lines worth drawing. */
  private perRank: Map<number, GrowableColumn> | undefined = new Map();
  private readonly spread = SPREAD_LABELS.map(() => new GrowableColumn(32));
  private readonly epoch = new GrowableColumn(64, 64);
  private readonly testAccuracy = new GrowableColumn(64, 64);
  private readonly testLoss = new GrowableColumn(64, 64);
  private previous: { timeMs: number; samples: number } | undefined;
  private changes = 0;

  /** Grows with every record: a view of an unchanged version is the same. */
  get version(): number {
    return this.changes;
  }

  get steps(): number {
    return this.step.length;
  }

  add(record: MetricsRecord): void {
    this.changes++;
    if (record.kind === 'epoch') {
      this.epoch.push(record.epoch + 1);
      this.testAccuracy.push(record.testAccuracy);
      this.testLoss.push(record.testLoss);
      return;
    }
    this.addStep(record);
  }

  private addStep(record: StepRecord): void {
    const index = this.step.length;
    const timeMs = Date.parse(record.time);
    const previous = this.previous;
    this.previous = { timeMs, samples: record.samples };
    // The first step has no previous one to measure from: the run's average is its best estimate.
    const elapsedMs = previous === undefined ? NaN : timeMs - previous.timeMs;
    const throughput = previous === undefined ? record.samplesPerSec : elapsedMs > 0 ? ((record.samples - previous.samples) * 1000) / elapsedMs : NaN;
    const walls = record.ranks.map(stepWallMs);
    const mean = (key: 'computeMs' | 'syncBnMs' | 'allReduceMs' | 'waitMs'): number =>
      record.ranks.length === 0 ? NaN : record.ranks.reduce((sum, r) => sum + r[key], 0) / record.ranks.length;
    const row: Record<StepColumn, number> = {
      loss: record.loss,
      accuracy: record.accuracy,
      throughput,
      averageThroughput: record.samplesPerSec,
      stepMs: record.stepMs,
      computeMs: mean('computeMs'),
      syncBnMs: mean('syncBnMs'),
      allReduceMs: mean('allReduceMs'),
      waitMs: mean('waitMs'),
    };
    this.step.push(record.step);
    for (const name of STEP_COLUMNS) this.columns[name].push(row[name]);
    const sorted = [...walls].sort((a, b) => a - b);
    const spread = [sorted[0], sorted[Math.floor((sorted.length - 1) / 2)], sorted.at(-1)];
    this.spread.forEach((column, i) => column.push(spread[i] ?? NaN));
    this.addPerRank(index, record, walls);
  }

  private addPerRank(index: number, record: StepRecord, walls: number[]): void {
    if (this.perRank === undefined) return;
    if (record.ranks.some((r) => r.rank >= MAX_RANK_LINES)) {
      this.perRank = undefined;
      return;
    }
    record.ranks.forEach((r, i) => {
      let column = this.perRank?.get(r.rank);
      if (column === undefined) {
        column = new GrowableColumn(32);
        this.perRank?.set(r.rank, column);
      }
      column.padTo(index);
      column.push(walls[i] as number);
    });
  }

  /** The history with no series longer than `maxPoints` (at least 2). */
  view(maxPoints: number): { steps: StepSeries; epochs: EpochSeries } {
    const n = this.step.length;
    const rankEntries = this.perRank === undefined ? [] : [...this.perRank.entries()].sort((a, b) => a[0] - b[0]);
    for (const [, column] of rankEntries) column.padTo(n);
    const rankColumns = rankEntries.length > 0 ? rankEntries.map(([, c]) => c.values) : this.spread.map((c) => c.values);
    const rankLabels = rankEntries.length > 0 ? rankEntries.map(([rank]) => `rank ${rank}`) : [...SPREAD_LABELS];
    const stepData = downsampleMinMax(this.step.values, [...STEP_COLUMNS.map((name) => this.columns[name].values), ...rankColumns], n, maxPoints);
    const stepValues = stepData.ys.map(rounded);
    const byName = Object.fromEntries(STEP_COLUMNS.map((name, i) => [name, stepValues[i] as Values])) as Record<StepColumn, Values>;
    const e = this.epoch.length;
    const epochData = downsampleMinMax(this.epoch.values, [this.testAccuracy.values, this.testLoss.values], e, maxPoints);
    return {
      steps: {
        count: n,
        step: stepData.x,
        ...byName,
        ranks: rankLabels.map((label, i) => ({ label, ms: stepValues[STEP_COLUMNS.length + i] as Values })),
      },
      epochs: { count: e, epoch: epochData.x, testAccuracy: rounded(epochData.ys[0] ?? []), testLoss: rounded(epochData.ys[1] ?? []) },
    };
  }
}

/** Four significant digits are more than a chart can show, and halve the JSON. */
function rounded(values: number[]): Values {
  return values.map((v) => (Number.isFinite(v) ? Number(v.toPrecision(4)) : null));
}
