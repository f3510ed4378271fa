import { FAILED_FIELD, type ChartRow } from '../charts.js';
import { countOf, percent, percentMeanStd, plainMeanStd } from '../format.js';
import { counts, outcomeOf } from '../outcome.js';
import type { RunResult } from '../results.js';
import type { Table } from '../report-document.js';

/** Columns of the standard per-arm table: means over the runs that trained, failures counted beside them. */
export const ARM_COLUMNS = ['test accuracy % (mean ± std, trained runs)', 'per seed %', 'test loss', 'train loss, last epoch', 'collapsed', 'diverged'];

/** "9.8 (collapsed)": a seed's accuracy, marked when the run failed and is left out of the mean. */
function seedCell(run: RunResult): string {
  const outcome = outcomeOf(run);
  return outcome === 'collapsed' || outcome === 'diverged' ? `${percent(run.test.accuracy, 1)} (${outcome})` : percent(run.test.accuracy, 1);
}

/**
 * The standard cells of one arm: accuracy and losses of the runs that trained, each seed's
 * accuracy, and the collapsed and diverged runs counted apart. Results from before
 * collapse was recorded say "not checked" rather than 0.
 */
export function armCells(runs: readonly RunResult[]): string[] {
  const trained = runs.filter(counts);
  const collapseChecked = runs.every((r) => outcomeOf(r) !== 'unchecked');
  return [
    trained.length === 0 ? '—' : percentMeanStd(trained.map((r) => r.test.accuracy)),
    runs.map(seedCell).join(', '),
    plainMeanStd(trained.map((r) => r.test.loss)),
    plainMeanStd(trained.map((r) => r.trainLoss)),
    collapseChecked ? countOf(runs.filter((r) => outcomeOf(r) === 'collapsed').length, runs.length) : 'not checked',
    countOf(runs.filter((r) => outcomeOf(r) === 'diverged').length, runs.length),
  ];
}

/** A table of arms, one row each: leading label cells, then the standard cells. */
export function armTable(caption: string, labelColumns: string[], rows: { labels: string[]; runs: readonly RunResult[] }[]): Table {
  return { caption, columns: [...labelColumns, ...ARM_COLUMNS], rows: rows.map((r) => [...r.labels, ...armCells(r.runs)]) };
}

/** One chart row per seed: the arm's fields plus `seed`, `accuracy` (in percent) and whether the run failed (left out of the mean). */
export function seedRows(fields: ChartRow, runs: readonly RunResult[]): ChartRow[] {
  return runs.map((r) => ({ ...fields, seed: r.config.seed, accuracy: r.test.accuracy * 100, [FAILED_FIELD]: counts(r) ? 0 : 1 }));
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
