import type { AllReduceOptions, AsyncCommunicator } from '../communicator.js';
import { asCollectiveError, collectiveError } from '../errors.js';
import type { CollectiveError } from '../errors.js';
import type { CombineOp, ReduceOp } from '../reduce/reduce-op.js';
import type { ScheduleCollectives } from './schedule-collectives.js';
import type { WireDtype } from '../transport/wire-codec.js';

/** What a communicator needs from the process group that owns its links. */
export interface GroupState {
  readonly opTimeoutMs: number;
  /** How all-reduces that allow it (`AllReduceOptions.compress`: gradients) travel. */
  readonly compressedWire: WireDtype;
  /** The group's failure, if it failed (or was closed/aborted). */
  failure(): CollectiveError | undefined;
  /** Fails the whole group: every pending and later operation, here and (by abort notices) on peers. */
  fail(err: CollectiveError): void;
  /** The failure once it is final (a lost connection waits briefly for a notice naming the root cause). */
  whenFailed(): Promise<CollectiveError>;
  subgroup(ranks: readonly number[]): AsyncCommunicator;
  /** An operation starts (for the group's busy time); the returned function is called when it ends. */
  operationStarted(): () => void;
}

/**
 * The operations of one (sub)group of a process group with deadlines: an operation
 * that fails or runs past its deadline fails the whole group, so that no rank is left
 * waiting for a partner that gave up.
 */
export class ProcessCommunicator implements AsyncCommunicator {
  constructor(
    private readonly collectives: ScheduleCollectives,
    private readonly state: GroupState,
    /** Global rank of each member, for subgroups (identity for the world group). */
    readonly members: readonly number[]
  ) {}

  get rank(): number {
    return this.collectives.rank;
  }

  get size(): number {
    return this.collectives.size;
  }

  allReduce(buf: Float32Array, op: ReduceOp = 'sum', options?: AllReduceOptions): Promise<void> {
    const dt = options?.compress === true ? this.state.compressedWire : 'float32';
    return this.guard('allReduce', () => this.collectives.allReduce(buf, op, dt));
  }

  broadcast(buf: Float32Array, root: number): Promise<void> {
    return this.guard('broadcast', () => this.collectives.broadcast(buf, root));
  }

  allGather(input: Float32Array, output: Float32Array): Promise<void> {
    return this.guard('allGather', () => this.collectives.allGather(input, output));
  }

  reduceScatter(input: Float32Array, output: Float32Array, op: ReduceOp = 'sum'): Promise<void> {
    return this.guard('reduceScatter', () => this.collectives.reduceScatter(input, output, op));
  }

  /** See `ScheduleCollectives.allGatherParts` (hierarchical groups: processes of different thread counts). */
  allGatherParts(buf: Float32Array, bounds: readonly number[]): Promise<void> {
    return this.guard('allGather', () => this.collectives.allGatherParts(buf, bounds));
  }

  /** See `ScheduleCollectives.reduceScatterParts`. */
  reduceScatterParts(buf: Float32Array, bounds: readonly number[], combine: CombineOp): Promise<void> {
    return this.guard('reduceScatter', () => this.collectives.reduceScatterParts(buf, bounds, combine));
  }

  barrier(): Promise<void> {
    return this.guard('barrier', () => this.collectives.barrier());
  }

  split(ranks: readonly number[]): AsyncCommunicator {
    return this.state.subgroup(ranks.map((r) => {
      const global = this.members[r];
      if (global === undefined) throw collectiveError('COLL_ERR_ARGUMENT', `split: ${r} is not a rank of a group of ${this.size}`);
      return global;
    }));
  }

  private guard(what: string, body: () => Promise<void>): Promise<void> {
    const failed = this.state.failure();
    if (failed) return Promise.reject(failed);
    let started: Promise<void>;
    try {
      started = body();
    } catch (err) {
      // Argument errors are raised before anything was sent: the group stays usable.
      return Promise.reject(asCollectiveError(err, 'COLL_ERR_ARGUMENT'));
    }
    const ended = this.state.operationStarted();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        ended();
        const err = collectiveError('COLL_ERR_TIMEOUT', `${what} did not complete within ${this.state.opTimeoutMs} ms`);
        this.state.fail(err);
        settled = true;
        reject(this.state.failure() ?? err);
      }, this.state.opTimeoutMs);
      started.then(
        () => {
          clearTimeout(timer);
          ended();
          if (!settled) resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          ended();
          const error = asCollectiveError(err);
          this.state.fail(error);
          if (settled) return;
          settled = true;
          // The group's failure names the root cause (e.g. the lost peer), not the
          // secondary error this operation happened to see.
          void this.state.whenFailed().then(reject);
        }
      );
    });
  }
}
