import type { CombineOp } from '../reduce/reduce-op.js';
import type { WireDtype } from './wire-codec.js';

/** Identifies one transfer on the wire; both sides derive it from the same schedule. */
export interface DataTag {
  /** Group the operation runs in (a subgroup has its own tag). */
  readonly group: string;
  /** Operation sequence number within the group. */
  readonly seq: number;
  /** k-th transfer from this sender to this receiver within the operation. */
  readonly tag: number;
  readonly offset: number;
  readonly count: number;
  /** How the values travel (`wire-codec.ts`); float32 when absent. */
  readonly dt?: WireDtype;
}

/**
 * A reliable, ordered connection to one peer: the only thing the schedule runner
 * (`algorithms/run-schedule.ts`) needs from a transport. Sockets (`socket-link.ts`) and
 * the in-memory fake (`fake-link.ts`) implement it. Sends to one peer leave in the order they are called; receives are
 * matched to arriving data in the order they are posted. A link that fails rejects every
 * pending and later call with the failure's `CollectiveError`.
 */
export interface Link {
  /** Rank of the peer in the process group. */
  readonly peer: number;
  /** Sends `data` (no copy). Resolves once `data`'s bytes may change again. */
  send(tag: DataTag, data: Float32Array): Promise<void>;
  /** Receives the matching transfer into `into`, combining with what is there if `combine` is given. */
  recv(tag: DataTag, into: Float32Array, combine: CombineOp | undefined): Promise<void>;
}
