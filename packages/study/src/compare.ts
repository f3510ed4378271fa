import { percentMeanStd, points, pValue } from './format.js';
import { pairedTTest, welchTTest, type TTest } from './stats.js';

/** Below this two-sided p-value a difference between two arms is called clear. */
export const CLEAR_P = 0.05;

/** Test accuracies of one arm, one per seed (or per model). */
export interface Sample {
  name: string;
  values: readonly number[];
}

export interface Comparison {
  a: Sample;
  b: Sample;
  test: TTest;
  paired: boolean;
  /** p < CLEAR_P. */
  clear: boolean;
  /** 'higher' or 'lower' when clear (a relative to b), else 'unclear'. */
  direction: 'higher' | 'lower' | 'unclear';
  /** One sentence stating the comparison with its numbers. */
  sentence: string;
}

/** "BN before (97.53 ± 0.21 %)". */
export function describe(sample: Sample): string {
  return `${sample.name} (${percentMeanStd(sample.values)} %)`;
}

/**
 * Compares the accuracies of two arms with a t-test: Welch's for independent runs, the
 * paired test for two measurements of the same models. The sentence says "clearly" only
 * when p < CLEAR_P, and otherwise "no clear difference", always with the difference and p.
 */
export function compareArms(a: Sample, b: Sample, options: { paired?: boolean } = {}): Comparison {
  const paired = options.paired ?? false;
  const test = paired ? pairedTTest(a.values, b.values) : welchTTest(a.values, b.values);
  const clear = test.p < CLEAR_P;
  const direction = !clear ? 'unclear' : test.difference > 0 ? 'higher' : 'lower';
  const how = `${points(test.difference)}, ${pValue(test.p)}${paired ? ', paired' : ''}`;
  const sentence =
    direction === 'unclear'
      ? `no clear difference between ${describe(a)} and ${describe(b)} (${how})`
      : `${describe(a)} is clearly ${direction === 'higher' ? 'above' : 'below'} ${describe(b)} (${how})`;
  return { a, b, test, paired, clear, direction, sentence };
}

/** A sentence from a fragment: capital first letter, final period. */
export function sentence(fragment: string): string {
  const text = fragment.trim();
  if (text.length === 0) return text;
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`;
}
