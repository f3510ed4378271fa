import { collectiveError } from './errors.js';

/**
 * Where the rank threads of a hierarchical group live: process p hosts `sizes[p]`
 * threads, and its local rank l is global rank `offsets[p] + l`, where `offsets[p]` is
 * the sum of the thread counts of the lower process ranks. Processes may host different
 * numbers of threads (a one-rank GPU worker next to four-rank CPU workers).
 */
export class RankLayout {
  /** Rank threads of every process, indexed by process rank. */
  readonly sizes: readonly number[];
  /** `offsets[p]`: global rank of process p's first thread; `offsets[processes]` = total. */
  readonly offsets: readonly number[];
  /** Every process hosts the same number of threads. */
  readonly uniform: boolean;

  constructor(sizes: readonly number[]) {
    if (sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
      throw collectiveError('COLL_ERR_ARGUMENT', `thread counts per process must be integers >= 1, got [${sizes.join(',')}]`);
    }
    this.sizes = Object.freeze([...sizes]);
    const offsets = [0];
    for (const s of sizes) offsets.push((offsets[offsets.length - 1] as number) + s);
    this.offsets = Object.freeze(offsets);
    this.uniform = sizes.every((s) => s === sizes[0]);
  }

  /** Every process hosts `threads` threads. */
  static uniform(processes: number, threads: number): RankLayout {
    return new RankLayout(Array.from({ length: processes }, () => threads));
  }

  get processes(): number {
    return this.sizes.length;
  }

  /** Global ranks in all. */
  get total(): number {
    return this.offsets[this.sizes.length] as number;
  }

  /** Global rank of process p's first thread. */
  first(process: number): number {
    return this.offsets[process] as number;
  }

  /**
   * The global rank a failure blamed on process `process` is reported with in rank
   * threads: that process's first thread. Undefined for no process or one out of range.
   */
  blame(process: number | undefined): number | undefined {
    if (process === undefined || !Number.isInteger(process) || process < 0 || process >= this.sizes.length) return undefined;
    return this.offsets[process];
  }

  /** The process hosting global rank `global` (0 <= global < total). */
  processOf(global: number): number {
    // Binary search for the last offset <= global: processes are few, but this runs per broadcast.
    let lo = 0;
    let hi = this.sizes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.offsets[mid] as number) <= global) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Element bounds of each process's part of a buffer that holds `perRank` elements per
   * global rank of processes [lo, hi), in global rank order: process lo + i owns
   * [bounds[i], bounds[i + 1]).
   */
  bounds(lo: number, hi: number, perRank: number): number[] {
    const base = this.offsets[lo] as number;
    const out: number[] = [];
    for (let p = lo; p <= hi; p++) out.push(((this.offsets[p] as number) - base) * perRank);
    return out;
  }
}
