import { evenShardSizes, proportionalShardSizes } from '@tfjs-ddp/data';

/** The shortest compute time taken as a measurement, ms. */
const MIN_MEASURED_MS = 1e-3;

export type BalanceMode = 'even' | 'speed';
export const BALANCE_MODES: readonly BalanceMode[] = ['even', 'speed'];

export interface ShardBalancerOptions {
  mode: BalanceMode;
  ranks: number;
  /** Weight of the newest measurement in each rank's running speed. Default 0.3. */
  smoothing?: number;
  /** No rank's share falls below this fraction of an even share, so a slow rank keeps being measured. Default 0.1. */
  minShare?: number;
}

/**
 * Sizes every rank's shard of a global batch. `even`: equal shards. `speed`: shards in
 * proportion to each rank's measured samples per second of compute (a running average),
 * keeping the global batch fixed, so a fast GPU pod and a slow CPU pod finish their
 * shards at about the same time. Gradients are count-weighted and SyncBN is exact for
 * unequal shards, so the step's mathematics does not change, only who computes what.
 */
export class ShardBalancer {
  private readonly speeds: number[];
  private readonly smoothing: number;
  private readonly minShare: number;

  constructor(private readonly options: ShardBalancerOptions) {
    this.speeds = new Array<number>(options.ranks).fill(0);
    this.smoothing = options.smoothing ?? 0.3;
    this.minShare = options.minShare ?? 0.1;
  }

  /**
   * Records that `rank` computed `count` samples in `computeMs` milliseconds. A time below
   * a microsecond is no measurement (reports are checked, but the speed this divides into
   * must stay finite whatever it is given: an infinite speed would make every size NaN).
   */
  observe(rank: number, count: number, computeMs: number): void {
    if (count <= 0 || !(computeMs >= MIN_MEASURED_MS) || !Number.isFinite(computeMs) || rank < 0 || rank >= this.speeds.length) return;
    const speed = count / computeMs;
    const previous = this.speeds[rank] as number;
    this.speeds[rank] = previous === 0 ? speed : previous + this.smoothing * (speed - previous);
  }

  /** Current samples/ms estimate of every rank (0 where not yet measured). */
  measuredSpeeds(): readonly number[] {
    return this.speeds;
  }

  sizes(globalCount: number): number[] {
    const ranks = this.options.ranks;
    if (this.options.mode === 'even' || this.speeds.some((s) => s === 0)) return evenShardSizes(globalCount, ranks);
    const total = this.speeds.reduce((a, b) => a + b, 0);
    const floor = (this.minShare * total) / ranks;
    return proportionalShardSizes(globalCount, this.speeds.map((s) => Math.max(s, floor)));
  }
}
