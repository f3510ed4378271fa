/**
 * The few statistics the report needs, in float64: means and sample standard deviations
 * over seeds, and t-tests comparing two arms (Welch's for independent runs, paired for two
 * measurements of the same models), each with the 95 % confidence interval of its
 * difference, which is what the report words its findings by.
 */

/** The confidence level of every interval the report gives. */
export const CONFIDENCE = 0.95;

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((s, v) => s + v, 0) / values.length;
}

/** Sample standard deviation (n - 1); 0 for a single value. */
export function std(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

export interface TTest {
  /** mean(a) - mean(b). */
  difference: number;
  /** Standard error of the difference. */
  standardError: number;
  t: number;
  degreesOfFreedom: number;
  /** Two-sided p-value; 1 when there is no difference at all, 0 when a difference has no spread. */
  p: number;
  /** The CONFIDENCE interval of the difference: difference ± t_crit(df) × standardError. */
  low: number;
  high: number;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-13). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The continued fraction converges fast only on one side of the mean of the distribution.
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Two-sided p-value of Student's t with `df` degrees of freedom. */
export function studentTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return regularizedBeta(df / (df + t * t), df / 2, 0.5);
}

/**
 * The critical value c with P(|T| > c) = alpha for Student's t with `df` degrees of
 * freedom, by bisection on studentTwoSidedP (monotone in t): 200 halvings reach float64
 * precision, and the report needs a handful of these, so speed does not matter.
 */
export function studentCritical(alpha: number, df: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must lie in (0, 1), got ${alpha}`);
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be positive, got ${df}`);
  let low = 0;
  let high = 1;
  while (studentTwoSidedP(high, df) > alpha) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-12 * high; i++) {
    const middle = (low + high) / 2;
    if (studentTwoSidedP(middle, df) > alpha) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

function tTest(difference: number, standardError: number, degreesOfFreedom: number): TTest {
  if (standardError === 0 || !Number.isFinite(standardError)) {
    const p = difference === 0 ? 1 : 0;
    // No spread: every seed gave the same difference, so the interval is that point.
    return { difference, standardError: 0, t: difference === 0 ? 0 : Math.sign(difference) * Infinity, degreesOfFreedom, p, low: difference, high: difference };
  }
  const t = difference / standardError;
  const margin = studentCritical(1 - CONFIDENCE, degreesOfFreedom) * standardError;
  return { difference, standardError, t, degreesOfFreedom, p: studentTwoSidedP(t, degreesOfFreedom), low: difference - margin, high: difference + margin };
}

/** Welch's t-test of mean(a) - mean(b), two independent samples (each of at least 2). */
export function welchTTest(a: readonly number[], b: readonly number[]): TTest {
  if (a.length < 2 || b.length < 2) throw new RangeError(`Welch's test needs at least 2 values per sample, got ${a.length} and ${b.length}`);
  const va = std(a) ** 2 / a.length;
  const vb = std(b) ** 2 / b.length;
  const se = Math.sqrt(va + vb);
  const df = va + vb === 0 ? a.length + b.length - 2 : (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  return tTest(mean(a) - mean(b), se, df);
}

/** Paired t-test of mean(a - b), a[i] and b[i] measured on the same model or seed. */
export function pairedTTest(a: readonly number[], b: readonly number[]): TTest {
  if (a.length !== b.length) throw new RangeError(`paired samples differ in length: ${a.length} and ${b.length}`);
  if (a.length < 2) throw new RangeError(`the paired test needs at least 2 pairs, got ${a.length}`);
  const d = a.map((v, i) => v - (b[i] as number));
  return tTest(mean(d), std(d) / Math.sqrt(d.length), d.length - 1);
}
