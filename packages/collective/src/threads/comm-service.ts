import { asCollectiveError, collectiveError } from '../errors.js';
import type { ProcessGroup } from '../processes/process-group.js';
import { combineInto, divideInto } from '../reduce/reduce-op.js';
import { DONE_SEQ, OP_KINDS, REQ_COMPRESS, REQ_COUNT, REQ_KICK, REQ_KIND, REQ_OP, REQ_PROC_HI, REQ_PROC_LO, REQ_ROOT, REQ_SEQ } from './shared-layout.js';
import { ASYNC_CODE, ASYNC_COUNT, ASYNC_DIVISOR, ASYNC_LOC, ASYNC_PROC_HI, ASYNC_PROC_LO, ASYNC_SEQ, ASYNC_SIG } from './shared-layout.js';
import { ASYNC_SLOTS, asyncField, asyncSignature, resultOffset } from './shared-layout.js';
import type { DataLayout } from './shared-layout.js';
import { failShared, sharedFailure } from './shared-sync.js';

/**
 * The comm side of a hierarchical group, on the process's main thread: waits (without
 * blocking the event loop: Atomics.waitAsync) for the rank threads' requests, runs the
 * process-level operation over the process group, and wakes the threads. Requests are
 * served one at a time in sequence order, whatever their kind: a blocking collective
 * (on the shared buffer R, the threads wait in it) or a started all-reduce
 * (`allReduceStart`: in place on the threads' arena buffers, the threads go on). A
 * failure on either side is carried to the other: the process group's failure is
 * written into shared memory (every rank thread throws it), and a rank thread's failure
 * (timeout, abort) fails the process group (every peer process learns of it).
 */
export class CommService {
  private readonly r: Float32Array;
  private readonly f32: Float32Array;
  private stopped = false;

  constructor(
    private readonly control: Int32Array,
    data: SharedArrayBuffer,
    private readonly layout: DataLayout,
    private readonly processes: Pick<ProcessGroup, 'rank' | 'size' | 'layout' | 'fail' | 'processRange'>
  ) {
    const at = resultOffset(layout) >>> 2;
    this.r = new Float32Array(data, at * 4, layout.slotBytes >>> 2);
    this.f32 = new Float32Array(data);
  }

  /** Runs until the group fails or is closed. Note: a pending waitAsync keeps no process alive; the sockets do. */
  async serve(): Promise<void> {
    for (;;) {
      // Read before looking for work: a request posted after the look changes it, so the wait cannot miss it.
      const kick = Atomics.load(this.control, REQ_KICK);
      if (this.stopped) return;
      const failure = sharedFailure(this.control);
      if (failure) {
        // Its peer is a global rank (or none); the other processes must blame this
        // process. (A failure that came from the process group finds it failed already.)
        this.processes.fail(collectiveError(failure.code, failure.message, this.processes.rank));
        return;
      }
      const seq = Atomics.load(this.control, DONE_SEQ) + 1;
      const entry = seq % ASYNC_SLOTS;
      let work: (() => Promise<void>) | undefined;
      if (Atomics.load(this.control, REQ_SEQ) === seq) work = () => this.run();
      else if (Atomics.load(this.control, asyncField(entry, ASYNC_SEQ)) === seq) work = () => this.runStarted(entry);
      if (work === undefined) {
        const waited = waitAsync(this.control, REQ_KICK, kick);
        if (waited.async) await waited.value;
        continue;
      }
      try {
        await work();
      } catch (err) {
        // Process-level errors blame a process rank; rank threads see its first global rank.
        const e = asCollectiveError(err);
        failShared(this.control, e.code, this.processes.layout.blame(e.peer));
        return;
      }
      Atomics.store(this.control, DONE_SEQ, seq);
      Atomics.notify(this.control, DONE_SEQ);
    }
  }

  stop(): void {
    this.stopped = true;
    Atomics.notify(this.control, REQ_KICK);
  }

  /**
   * A started all-reduce: every local thread's buffer summed (or maxed) into thread 0's in
   * place, the process-level all-reduce on it, the result copied into the others'.
   */
  private async runStarted(entry: number): Promise<void> {
    const field = (f: number): number => Atomics.load(this.control, asyncField(entry, f));
    const count = field(ASYNC_COUNT);
    const code = field(ASYNC_CODE);
    const lo = field(ASYNC_PROC_LO);
    const hi = field(ASYNC_PROC_HI);
    const sig = asyncSignature(count, code, { lo, hi });
    const bufs: Float32Array[] = [];
    for (let t = 0; t < this.layout.threads; t++) {
      if (field(ASYNC_SIG + t) !== sig) {
        const first = this.processes.layout.first(this.processes.rank);
        throw collectiveError('COLL_ERR_DESYNC', `rank ${first + t} started a different all-reduce (size or op) than rank ${first}`, this.processes.rank);
      }
      const at = field(ASYNC_LOC + t);
      bufs.push(this.f32.subarray(at, at + count));
    }
    const combine = (code & 1) === 1 ? 'max' : 'sum';
    const [mine, ...others] = bufs as [Float32Array, ...Float32Array[]];
    for (const other of others) combineInto(mine, other, combine);
    await this.processes.processRange(lo, hi).allReduce(mine, combine, { compress: (code & 4) === 4 });
    if ((code & 2) === 2) divideInto(mine, mine, field(ASYNC_DIVISOR));
    for (const other of others) other.set(mine);
  }

  private run(): Promise<void> {
    const kind = OP_KINDS[Atomics.load(this.control, REQ_KIND)];
    const combine = Atomics.load(this.control, REQ_OP) === 1 ? 'max' : 'sum';
    const count = Atomics.load(this.control, REQ_COUNT);
    const root = Atomics.load(this.control, REQ_ROOT);
    const lo = Atomics.load(this.control, REQ_PROC_LO);
    const hi = Atomics.load(this.control, REQ_PROC_HI);
    // A split into whole processes runs on the process group's subgroup of the same ranks.
    const p = this.processes.processRange(lo, hi);
    switch (kind) {
      case 'allReduce':
        return p.allReduce(this.r.subarray(0, count), combine, { compress: Atomics.load(this.control, REQ_COMPRESS) === 1 });
      case 'broadcast':
        return p.broadcast(this.r.subarray(0, count), root);
      case 'allGather':
      case 'reduceScatter': {
        // R holds `count` elements per global rank of the range, in global rank order;
        // each process owns its threads' run of it (runs differ with the thread counts).
        const bounds = this.processes.layout.bounds(lo, hi, count);
        const r = this.r.subarray(0, bounds[hi - lo]);
        return kind === 'allGather' ? p.allGatherParts(r, bounds) : p.reduceScatterParts(r, bounds, combine);
      }
      case 'barrier':
        return p.barrier();
      default:
        return Promise.reject(collectiveError('COLL_ERR_PROTOCOL', 'bad request in shared memory'));
    }
  }
}

// Atomics.waitAsync is in Node 20 but not in the ES2023 lib this repository compiles against.
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number, timeout?: number): WaitAsyncResult }).waitAsync;
