import { asCollectiveError } from '../errors.js';
import type { CollectiveError } from '../errors.js';
import type { Link } from '../transport/link.js';
import type { CombineOp } from '../reduce/reduce-op.js';
import type { StagedPlacement } from './staged-placement.js';
import type { Schedule } from './transfer-schedule.js';
import type { WireDtype } from '../transport/wire-codec.js';

export interface ExecutionContext {
  readonly group: string;
  readonly seq: number;
  readonly combine: CombineOp;
  /** How every transfer of the operation travels; float32 when absent. */
  readonly dt?: WireDtype;
  /** Link to a group-local rank. */
  readonly linkTo: (peer: number) => Link;
  /**
   * Transfers marked in `placement.staged` run on this buffer instead (same offsets): the
   * staging copy of a caller's buffer that lies outside every wasm memory.
   */
  readonly staging?: { readonly buffer: Float32Array; readonly placement: StagedPlacement };
}

/**
 * Runs one rank's schedule over links. A transfer starts once its dependencies have
 * completed; transfers to (and from) one peer start in schedule order, because a link is
 * a FIFO and the peer expects them in that order. Everything else runs concurrently.
 * Rejects with the first failure; the caller's deadline covers a peer that never answers.
 */
export function runSchedule(schedule: Schedule, buf: Float32Array, ctx: ExecutionContext): Promise<void> {
  const transfers = schedule.transfers;
  const total = transfers.length;
  if (total === 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const waiting = transfers.map((t) => t.deps.length);
    const dependents: number[][] = transfers.map(() => []);
    transfers.forEach((t, i) => t.deps.forEach((d) => dependents[d]?.push(i)));
    // One FIFO per (peer, direction), holding transfer indices in schedule order.
    const queues = new Map<string, { items: number[]; head: number }>();
    const queueOf = (i: number): { items: number[]; head: number } => {
      const t = transfers[i];
      const key = `${t?.kind}:${t?.peer}`;
      let q = queues.get(key);
      if (!q) queues.set(key, (q = { items: [], head: 0 }));
      return q;
    };
    transfers.forEach((_, i) => queueOf(i).items.push(i));
    let completed = 0;
    let failed = false;

    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      reject(asCollectiveError(err) as CollectiveError);
    };
    const complete = (i: number): void => {
      if (failed) return;
      completed++;
      if (completed === total) {
        resolve();
        return;
      }
      for (const d of dependents[i] ?? []) {
        waiting[d] = (waiting[d] as number) - 1;
        if (waiting[d] === 0) pump(queueOf(d));
      }
    };
    const start = (i: number): void => {
      const t = transfers[i];
      if (t === undefined) return;
      const link = ctx.linkTo(t.peer);
      const tag = { group: ctx.group, seq: ctx.seq, tag: t.tag, offset: t.offset, count: t.count, ...(ctx.dt === undefined ? {} : { dt: ctx.dt }) };
      const base = ctx.staging?.placement.staged[i] === true ? ctx.staging.buffer : buf;
      const range = base.subarray(t.offset, t.offset + t.count);
      const done = t.kind === 'send' ? link.send(tag, range) : link.recv(tag, range, t.combine ? ctx.combine : undefined);
      done.then(() => complete(i), fail);
    };
    const pump = (q: { items: number[]; head: number }): void => {
      while (!failed && q.head < q.items.length && waiting[q.items[q.head] as number] === 0) {
        start(q.items[q.head] as number);
        q.head++;
      }
    };
    try {
      for (const q of queues.values()) pump(q);
    } catch (err) {
      fail(err);
    }
  });
}
