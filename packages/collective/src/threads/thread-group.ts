import { availableParallelism } from 'node:os';
import { CommService } from './comm-service.js';
import { collectiveError } from '../errors.js';
import type { CollectiveError } from '../errors.js';
import type { ProcessGroup } from '../processes/process-group.js';
import { registerMemory } from '../reduce/reduce-engine.js';
import { CONTROL_INTS, GROUP_KEY, MAX_THREADS, SCRATCH_BYTES, dataBytes, groupField, scratchOffset } from './shared-layout.js';
import { createSharedMemory } from '../reduce/wasm-kernels.js';
import { failShared, sharedFailure } from './shared-sync.js';
import type { ThreadGroupHandle } from './thread-group-handle.js';

export interface ThreadGroupOptions {
  /** Rank threads in this process (1..31). */
  readonly threads: number;
  /**
   * Connected process group to make this a hierarchical group: rank threads then see one
   * communicator over all ranks of all processes (global rank = the thread counts of the
   * lower process ranks, summed, + local rank). Its `localSize` (its `localSizes[rank]`)
   * must equal `threads`. This thread then serves the process-level steps, so it must
   * keep its event loop free (await, never block).
   */
  readonly process?: ProcessGroup;
  /** Per-rank staging for large operations, in bytes. Default 16 MiB. */
  readonly slotBytes?: number;
  /** Operations on at most this many bytes per rank take the one-barrier path. Default 64 KiB. */
  readonly smallBytes?: number;
  /** Per-rank space for `allocShared`, in bytes. Default 0. */
  readonly arenaBytes?: number;
  /** Deadline of every operation. Default 60 s. */
  readonly opTimeoutMs?: number;
  /** Spin before sleeping in a barrier; default 50 µs when threads <= cores, else 0. */
  readonly spinMicros?: number;
}

/** The parent's side of a thread group. */
export interface ThreadGroup {
  /** Pass to each rank thread (workerData) and call `joinThreadGroup(handle, localRank)` there. */
  readonly handle: ThreadGroupHandle;
  /** The failure that ended the group, if any. */
  failure(): CollectiveError | undefined;
  /** Fails every pending and later operation in every rank thread (and the process group) with COLL_ERR_ABORTED. */
  abort(reason?: string): void;
  /** Ends the group: later operations fail with COLL_ERR_CLOSED. Does not close the process group. */
  close(): void;
}

/** Creates a thread group in this (parent) thread. */
export function createThreadGroup(options: ThreadGroupOptions): ThreadGroup {
  const threads = options.threads;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw collectiveError('COLL_ERR_ARGUMENT', `threads must be 1..${MAX_THREADS}, got ${threads}`);
  }
  const pg = options.process;
  if (pg && pg.localSize !== threads) {
    throw collectiveError('COLL_ERR_CONFIG', `the process group was connected with localSize ${pg.localSize}, the thread group has ${threads} threads`);
  }
  const align = (bytes: number): number => Math.ceil(bytes / 64) * 64;
  const layout = {
    threads,
    slotBytes: align(Math.max(64, options.slotBytes ?? 16 * 1024 * 1024)),
    smallBytes: align(Math.max(64, options.smallBytes ?? 64 * 1024)),
    arenaBytes: align(Math.max(0, options.arenaBytes ?? 0))
  };
  const control = new SharedArrayBuffer(CONTROL_INTS * 4);
  const ints = new Int32Array(control);
  // Entry 0 of the group table is the whole process.
  Atomics.store(ints, groupField(0, GROUP_KEY), threads >= 31 ? -1 : (1 << threads) - 1);
  const memory = createSharedMemory(dataBytes(layout));
  // This (main) thread combines socket data into R: its scratch is the layout's.
  registerMemory(memory, scratchOffset(layout), SCRATCH_BYTES);
  const handle: ThreadGroupHandle = {
    kind: 'tfjs-ddp/thread-group@1',
    control,
    memory,
    ...layout,
    opTimeoutMs: options.opTimeoutMs ?? 60_000,
    spinMicros: options.spinMicros ?? (threads <= availableParallelism() ? 50 : 0),
    process: pg ? { rank: pg.rank, size: pg.size, localSizes: [...pg.layout.sizes] } : null
  };
  let service: CommService | undefined;
  if (pg && pg.size > 1) {
    service = new CommService(ints, memory.buffer, layout, pg);
    // A process failure reaches every rank thread, attributed to that process's first global rank.
    pg.onFailure((err) => failShared(ints, err.code, pg.layout.blame(err.peer)));
    const failed = pg.failure();
    if (failed) failShared(ints, failed.code, pg.layout.blame(failed.peer));
    service.serve().catch((err: unknown) => {
      // serve() handles operation failures itself; this is a bug in it. Fail loudly.
      failShared(ints, 'COLL_ERR_UNKNOWN', undefined);
      pg.fail(collectiveError('COLL_ERR_UNKNOWN', `comm service crashed: ${String(err)}`));
    });
  }
  return {
    handle,
    failure: () => sharedFailure(ints),
    abort: (reason = 'aborted on demand') => {
      failShared(ints, 'COLL_ERR_ABORTED', undefined);
      pg?.fail(collectiveError('COLL_ERR_ABORTED', reason, pg.rank));
    },
    close: () => {
      // Stop first: a close is not a failure to announce to the peer processes.
      service?.stop();
      failShared(ints, 'COLL_ERR_CLOSED', undefined);
    }
  };
}
