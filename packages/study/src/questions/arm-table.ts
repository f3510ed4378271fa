import type { ChartRow } from '../charts.js';
import { countOf, percent, percentMeanStd, plainMeanStd } from '../format.js';
import type { RunResult } from '../results.js';
import type { Table } from '../report-document.js';

/** Columns of the standard per-arm table. */
export const ARM_COLUMNS = ['test accuracy % (mean ± std)', 'per seed %', 'test loss', 'train loss, last epoch', 'diverged'];

/** The standard cells of one arm: accuracy, each seed's, losses, divergences. */
export function armCells(runs: readonly RunResult[]): string[] {
  const accuracies = runs.map((r) => r.test.accuracy);
  return [
    percentMeanStd(accuracies),
    accuracies.map((a) => percent(a, 1)).join(', '),
    plainMeanStd(runs.map((r) => r.test.loss)),
    plainMeanStd(runs.map((r) => r.trainLoss)),
    countOf(runs.filter((r) => r.diverged).length, runs.length),
  ];
}

/** A table of arms, one row each: leading label cells, then the standard cells. */
export function armTable(caption: string, labelColumns: string[], rows: { labels: string[]; runs: readonly RunResult[] }[]): Table {
  return { caption, columns: [...labelColumns, ...ARM_COLUMNS], rows: rows.map((r) => [...r.labels, ...armCells(r.runs)]) };
}

/** One chart row per seed: the arm's fields plus `seed` and `accuracy` (in percent). */
export function seedRows(fields: ChartRow, runs: readonly RunResult[]): ChartRow[] {
  return runs.map((r) => ({ ...fields, seed: r.config.seed, accuracy: r.test.accuracy * 100 }));
}

/** One chart row per seed and learning-curve point, `accuracy` in percent. */
export function curveRows(fields: ChartRow, runs: readonly RunResult[], statistics: 'moving' | 'batch'): ChartRow[] {
  return runs.flatMap((r) =>
    r.curve.flatMap((p) => {
      const score = statistics === 'moving' ? p.moving : p.batch;
      return score === undefined ? [] : [{ ...fields, seed: r.config.seed, step: p.step, accuracy: score.accuracy * 100 }];
    }),
  );
}
