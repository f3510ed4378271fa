/** Several series over one shared x axis, as uPlot draws them (and as they travel as JSON). */
export interface AlignedSeries {
  x: number[];
  /** One array per series, each as long as `x`; NaN where a series has no value (null in JSON). */
  ys: number[][];
}

/**
 * Reduces series that share an x axis to at most `maxPoints` points, keeping every
 * spike: the points are cut into maxPoints/2 buckets of consecutive indices, and each
 * bucket becomes two points, at its first and its last x, carrying each series' minimum
 * and maximum in the order they occurred. A line through them covers exactly the range
 * the bucket's points covered, so a loss spike or a straggler's slow step stays visible
 * at any length, while the page receives a bounded payload. (LTTB keeps the shape as
 * well but picks one point per bucket per series, so series sharing an x axis would need
 * one axis each; min/max keeps them aligned and is one pass.) A bucket narrower than a
 * pixel column loses only where inside the bucket the extremes lay.
 *
 * Series shorter or equal to maxPoints come back unchanged (copied).
 */
export function downsampleMinMax(x: ArrayLike<number>, ys: readonly ArrayLike<number>[], length: number, maxPoints: number): AlignedSeries {
  const buckets = Math.floor(maxPoints / 2);
  if (buckets < 1) throw new RangeError(`maxPoints must be at least 2, got ${maxPoints}`);
  if (length <= maxPoints) {
    return { x: Array.from({ length }, (_, i) => x[i] as number), ys: ys.map((y) => Array.from({ length }, (_, i) => y[i] as number)) };
  }
  const outX = new Array<number>(buckets * 2);
  const outYs = ys.map(() => new Array<number>(buckets * 2));
  for (let b = 0; b < buckets; b++) {
    // length > maxPoints >= 2 * buckets, so every bucket holds at least two points.
    const start = Math.floor((b * length) / buckets);
    const end = Math.floor(((b + 1) * length) / buckets);
    outX[2 * b] = x[start] as number;
    outX[2 * b + 1] = x[end - 1] as number;
    for (let s = 0; s < ys.length; s++) {
      const [first, second] = extremesInOrder(ys[s] as ArrayLike<number>, start, end);
      const out = outYs[s] as number[];
      out[2 * b] = first;
      out[2 * b + 1] = second;
    }
  }
  return { x: outX, ys: outYs };
}

/** The minimum and maximum of y[start..end), the earlier-occurring one first; NaN values are skipped (both NaN if all are). */
function extremesInOrder(y: ArrayLike<number>, start: number, end: number): [number, number] {
  let min = NaN;
  let max = NaN;
  let minAt = -1;
  let maxAt = -1;
  for (let i = start; i < end; i++) {
    const v = y[i] as number;
    if (Number.isNaN(v)) continue;
    if (minAt < 0 || v < min) {
      min = v;
      minAt = i;
    }
    if (maxAt < 0 || v > max) {
      max = v;
      maxAt = i;
    }
  }
  return minAt <= maxAt ? [min, max] : [max, min];
}
