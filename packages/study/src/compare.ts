import { percentMeanStd, points, pointsInterval, pValue } from './format.js';
import { CONFIDENCE, pairedTTest, welchTTest, type TTest } from './stats.js';

/** Test accuracies of one arm, one per seed (or per model), of the runs that trained. */
export interface Sample {
  name: string;
  values: readonly number[];
  /** Runs of the arm left out of `values` because they collapsed or diverged (counted in the tables). */
  failed?: number;
}

export interface Comparison {
  a: Sample;
  b: Sample;
  paired: boolean;
  /** The t-test of mean(a) - mean(b) with its interval; null when an arm has fewer than 2 values. */
  test: TTest | null;
  /**
   * 'higher' or 'lower' (a relative to b) when the CONFIDENCE interval of the difference
   * excludes 0; 'unresolved' when it spans 0 or there is no test. Never "no difference":
   * an interval spanning 0 says the seeds did not settle the sign, not that it is 0.
   */
  direction: 'higher' | 'lower' | 'unresolved';
  /** One sentence stating the comparison with its numbers. */
  sentence: string;
}

/** "BN before (97.53 ± 0.21 %)", with the left-out runs when there are any. */
export function describe(sample: Sample): string {
  const failed = sample.failed ?? 0;
  const left = failed === 0 ? '' : `; ${failed} failed run${failed === 1 ? '' : 's'} left out`;
  if (sample.values.length === 0) return `${sample.name} (no run trained${left})`;
  return `${sample.name} (${percentMeanStd(sample.values)} %${left})`;
}

/** "n = 5", "n = 5 pairs" or "n = 5 and 3": the sample sizes the interval rests on. */
export function sampleSizes(c: Pick<Comparison, 'a' | 'b' | 'paired'>): string {
  const [na, nb] = [c.a.values.length, c.b.values.length];
  if (c.paired) return `n = ${na} pairs`;
  return na === nb ? `n = ${na}` : `n = ${na} and ${nb}`;
}

/** "+4.20 points, 95 % CI +0.31 to +8.09 points, p = 0.030": the effect with its interval, for tables and findings. */
export function effect(c: Comparison): string {
  if (c.test === null) return `not compared (${sampleSizes(c)})`;
  return `${points(c.test.difference)}, ${pointsInterval(c.test.low, c.test.high, CONFIDENCE)}, ${pValue(c.test.p)}${c.paired ? ', paired' : ''}`;
}

/**
 * Compares the accuracies of two arms by the 95 % t-interval of their difference: Welch's
 * for independent runs, the paired one for two measurements of the same models. The
 * sentence follows the interval: one excluding 0 says which arm is better and by how
 * much; one spanning 0 says "not resolved at n = N", with the difference and interval.
 */
export function compareArms(a: Sample, b: Sample, options: { paired?: boolean } = {}): Comparison {
  const paired = options.paired ?? false;
  const enough = paired ? a.values.length === b.values.length && a.values.length >= 2 : a.values.length >= 2 && b.values.length >= 2;
  const test = !enough ? null : paired ? pairedTTest(a.values, b.values) : welchTTest(a.values, b.values);
  const direction = test === null || (test.low <= 0 && test.high >= 0) ? 'unresolved' : test.difference > 0 ? 'higher' : 'lower';
  const partial: Omit<Comparison, 'sentence'> = { a, b, paired, test, direction };
  let sentence: string;
  if (test === null) {
    sentence = `${describe(a)} against ${describe(b)}: not compared, an arm has fewer than 2 trained runs (${sampleSizes(partial)})`;
  } else if (direction === 'unresolved') {
    sentence = `${describe(a)} against ${describe(b)}: not resolved at ${sampleSizes(partial)} (${effect({ ...partial, sentence: '' })})`;
  } else {
    const by = `${Math.abs(test.difference * 100).toFixed(2)} points`;
    sentence = `${describe(a)} is ${direction === 'higher' ? 'above' : 'below'} ${describe(b)} by ${by} (${pointsInterval(test.low, test.high, CONFIDENCE)}, ` +
      `${pValue(test.p)}${paired ? ', paired' : ''})`;
  }
  return { ...partial, sentence };
}

/** A sentence from a fragment: capital first letter, final period. */
export function sentence(fragment: string): string {
  const text = fragment.trim();
  if (text.length === 0) return text;
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`;
}
