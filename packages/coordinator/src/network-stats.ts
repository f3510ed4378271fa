import type { RankStepReport, StepNetworkReport, StructuredLog } from '@tfjs-ddp/protocol';
import { stepWallMs } from './metrics-log.js';

/** Steps the measured rate and network fraction are averaged over. */
export const NETWORK_WINDOW_STEPS = 20;
/** The network bounds the step when it takes more than this share of it, over a full window. */
export const NETWORK_BOUND_FRACTION = 0.5;

/** One worker's peer links as /status shows them. */
export interface WorkerNetworkStatus {
  /**
   * Bytes the worker sent to its peers per step, over the window: frames, payloads and
   * tags. A mean, not the last step: the counters are read when the step's report is
   * relayed, and a rank already inside the next step's collectives moves bytes across
   * that boundary (one step can read 0 received, the one before twice as much).
   */
  sentBytesPerStep: number;
  receivedBytesPerStep: number;
  /** Tensor payload of the bytes sent per step over the window: what the collective algorithms had to move. */
  payloadBytesPerStep: number;
  /** Time its collectives over the peer links were in flight per step over the window, ms. */
  netMsPerStep: number;
  /** Bits sent per second of network time over the window: the rate its links achieved. Null: no time measured. */
  linkBitsPerSec: number | null;
  /** Network time / step time over the window (0..1): the share of the step spent on the peer links. */
  networkFraction: number | null;
  /** Steps in the window. */
  windowSteps: number;
  /** Bytes sent and received since the worker joined. */
  sentBytesTotal: number;
  receivedBytesTotal: number;
}

interface Sample {
  sentBytes: number;
  receivedBytes: number;
  payloadBytes: number;
  netMs: number;
  stepMs: number;
}

/**
 * One worker's network figures: totals, and a window of the last NETWORK_WINDOW_STEPS
 * steps for the per-step means, the rate and the fraction (one step is too noisy to judge by).
 * The step time is the worker's slowest rank's wall time in that step (compute, SyncBN,
 * all-reduce, update), which the network time is a part of.
 */
export class NetworkWindow {
  private readonly window: Sample[] = [];
  private sentTotal = 0;
  private receivedTotal = 0;
  private generation: number | undefined;

  /**
   * One step's report of ring `generation`. The first report of a ring also carries the
   * ring's start-up (rank 0's state broadcast to a new ring): it counts in the totals,
   * not in the per-step window.
   */
  record(net: StepNetworkReport, reports: readonly RankStepReport[], generation: number): void {
    const stepMs = Math.max(0, ...reports.map(stepWallMs));
    this.sentTotal += net.sentBytes;
    this.receivedTotal += net.receivedBytes;
    const firstOfRing = generation !== this.generation;
    this.generation = generation;
    if (firstOfRing) return;
    this.window.push({ sentBytes: net.sentBytes, receivedBytes: net.receivedBytes, payloadBytes: net.payloadBytes, netMs: net.netMs, stepMs });
    if (this.window.length > NETWORK_WINDOW_STEPS) this.window.shift();
  }

  get full(): boolean {
    return this.window.length >= NETWORK_WINDOW_STEPS;
  }

  status(): WorkerNetworkStatus | null {
    const steps = this.window.length;
    if (steps === 0) return null;
    const sum = { sentBytes: 0, receivedBytes: 0, payloadBytes: 0, netMs: 0, stepMs: 0 };
    for (const s of this.window) for (const key of Object.keys(sum) as (keyof Sample)[]) sum[key] += s[key];
    const sent = sum.sentBytes;
    const { netMs, stepMs } = sum;
    return {
      sentBytesPerStep: sent / steps,
      receivedBytesPerStep: sum.receivedBytes / steps,
      payloadBytesPerStep: sum.payloadBytes / steps,
      netMsPerStep: netMs / steps,
      linkBitsPerSec: netMs > 0 ? (8 * sent) / (netMs / 1000) : null,
      // The network time is measured on another thread than the step time: never more than all of it.
      networkFraction: stepMs > 0 ? Math.min(1, netMs / stepMs) : null,
      windowSteps: this.window.length,
      sentBytesTotal: this.sentTotal,
      receivedBytesTotal: this.receivedTotal,
    };
  }
}

/**
 * Warns once per job when the network bounds the step: a worker whose full window spent
 * more than NETWORK_BOUND_FRACTION of its step on its peer links. The warning names the
 * rate the links achieved and the bytes per step, and suggests sending fewer of them.
 */
export class NetworkBoundWarning {
  private warned = false;

  constructor(private readonly log: StructuredLog) {}

  /** Whether this check logged the warning. */
  check(worker: string, window: NetworkWindow): boolean {
    if (this.warned || !window.full) return false;
    const s = window.status();
    if (s === null || s.networkFraction === null || s.networkFraction <= NETWORK_BOUND_FRACTION) return false;
    this.warned = true;
    const rate = s.linkBitsPerSec === null ? 'an unmeasured rate' : formatBitRate(s.linkBitsPerSec);
    const percent = Math.round(100 * s.networkFraction);
    this.log.warn(
      { worker, networkFraction: s.networkFraction, linkBitsPerSec: s.linkBitsPerSec, sentBytesPerStep: s.sentBytesPerStep },
      `the network bounds the step: worker ${worker} spent ${percent}% of its last ${s.windowSteps} steps on its peer links, ` +
        `which carried ${formatBytes(s.sentBytesPerStep)} per step at ${rate}; compressing gradients (--compress bf16) ` +
        'halves the bytes, a faster link or a larger batch per step lowers the share',
    );
    return true;
  }
}

export function formatBitRate(bitsPerSec: number): string {
  if (bitsPerSec >= 1e9) return `${(bitsPerSec / 1e9).toFixed(2)} Gbit/s`;
  if (bitsPerSec >= 1e6) return `${(bitsPerSec / 1e6).toFixed(1)} Mbit/s`;
  return `${(bitsPerSec / 1e3).toFixed(1)} kbit/s`;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} KB`;
  return `${bytes} B`;
}
