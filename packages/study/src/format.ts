import { mean, std } from './stats.js';

/** A fraction as a percentage: 0.97531 -> "97.53". */
export function percent(value: number, digits = 2): string {
  return Number.isFinite(value) ? (value * 100).toFixed(digits) : '—';
}

/** Mean ± sample std of fractions, in percent: "97.53 ± 0.21". */
export function percentMeanStd(values: readonly number[]): string {
  return `${percent(mean(values))} ± ${percent(std(values))}`;
}

/** A difference of fractions in percentage points, signed: "+1.23 points". */
export function points(difference: number): string {
  const sign = difference > 0 ? '+' : difference < 0 ? '−' : '±';
  return `${sign}${Math.abs(difference * 100).toFixed(2)} points`;
}

/** A confidence interval of a difference of fractions, in signed points: "95 % CI −0.31 to +8.09 points". */
export function pointsInterval(low: number, high: number, level: number): string {
  const signed = (v: number): string => `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v * 100).toFixed(2)}`;
  return `${Math.round(level * 100)} % CI ${signed(low)} to ${signed(high)} points`;
}

export function pValue(p: number): string {
  return p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`;
}

/** A plain number with at most `digits` significant digits: 0.030000001 -> "0.03". */
export function plain(value: number | null, digits = 4): string {
  if (value === null || !Number.isFinite(value)) return '—';
  return String(Number(value.toPrecision(digits)));
}

/** Mean ± std of plain numbers, nulls (non-finite losses) counted apart. */
export function plainMeanStd(values: readonly (number | null)[], digits = 3): string {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const missing = values.length - finite.length;
  if (finite.length === 0) return '—';
  const text = `${plain(mean(finite), digits)} ± ${plain(std(finite), digits)}`;
  return missing === 0 ? text : `${text} (${missing} not finite)`;
}

/** "1 of 3" style counts for the tables. */
export function countOf(count: number, total: number): string {
  return `${count} of ${total}`;
}

/** "1 step", "64 steps". */
export function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
