import { collectiveError } from '../errors.js';

/**
 * A collective algorithm, for one rank, as a list of transfers over its operation buffer.
 * Algorithms (ring, recursive doubling, tree, dissemination) are pure functions that
 * build these lists; transports only execute them (`run-schedule.ts`). The same schedule
 * runs over sockets and over the in-memory fake used by the unit tests.
 */
export interface Transfer {
  readonly kind: 'send' | 'recv';
  /** Group-local rank of the other side. */
  readonly peer: number;
  /** Range of the operation buffer, in elements. */
  readonly offset: number;
  readonly count: number;
  /** recv only: combine the incoming values into the range (else overwrite it). */
  readonly combine: boolean;
  /** Indices of earlier transfers that must complete before this one starts. */
  readonly deps: readonly number[];
  /** The k-th transfer from sender to receiver in this operation; both sides count the same. */
  readonly tag: number;
}

export interface Schedule {
  readonly algorithm: string;
  readonly rank: number;
  readonly size: number;
  /** Elements of the operation buffer. */
  readonly length: number;
  readonly transfers: readonly Transfer[];
}

interface Pending {
  readonly kind: 'send' | 'recv';
  readonly peer: number;
  readonly offset: number;
  readonly count: number;
  readonly combine: boolean;
  readonly tag: number;
  readonly fence: number;
}

/**
 * Collects transfers and derives their dependencies from the ranges they touch: a
 * transfer waits for every earlier one that writes what it reads or writes, or reads
 * what it writes. Pipelining across ring steps falls out of this: the send of segment k
 * in step s waits only for the receive of segment k in step s-1.
 */
export class ScheduleBuilder {
  private readonly pending: Pending[] = [];
  private readonly sendTags = new Map<number, number>();
  private readonly recvTags = new Map<number, number>();
  private fences = 0;

  constructor(
    readonly algorithm: string,
    readonly rank: number,
    readonly size: number,
    readonly length: number
  ) {}

  send(peer: number, offset: number, count: number): this {
    return this.add('send', peer, offset, count, false, this.sendTags);
  }

  recv(peer: number, offset: number, count: number, combine: boolean): this {
    return this.add('recv', peer, offset, count, combine, this.recvTags);
  }

  /** Later transfers also wait for every transfer before the fence (a barrier's rounds carry no data). */
  fence(): this {
    this.fences++;
    return this;
  }

  build(): Schedule {
    const transfers: Transfer[] = this.pending.map((t, i) => ({
      kind: t.kind,
      peer: t.peer,
      offset: t.offset,
      count: t.count,
      combine: t.combine,
      tag: t.tag,
      deps: this.depsOf(i)
    }));
    return { algorithm: this.algorithm, rank: this.rank, size: this.size, length: this.length, transfers };
  }

  private add(kind: 'send' | 'recv', peer: number, offset: number, count: number, combine: boolean, tags: Map<number, number>): this {
    if (peer === this.rank || peer < 0 || peer >= this.size || offset < 0 || count < 0 || offset + count > this.length) {
      throw collectiveError('COLL_ERR_ARGUMENT', `${this.algorithm}: bad transfer ${kind} peer ${peer} [${offset}, +${count}) of ${this.length}`);
    }
    const tag = tags.get(peer) ?? 0;
    tags.set(peer, tag + 1);
    this.pending.push({ kind, peer, offset, count, combine, tag, fence: this.fences });
    return this;
  }

  private depsOf(i: number): number[] {
    const t = this.pending[i] as Pending;
    const deps: number[] = [];
    for (let j = 0; j < i; j++) {
      const u = this.pending[j] as Pending;
      if (u.fence < t.fence) {
        deps.push(j);
        continue;
      }
      const overlap = t.count > 0 && u.count > 0 && u.offset < t.offset + t.count && t.offset < u.offset + u.count;
      if (overlap && (t.kind === 'recv' || u.kind === 'recv')) deps.push(j);
    }
    return deps;
  }
}

/** Splits [0, length) into `parts` contiguous ranges whose sizes differ by at most one. */
export function partition(length: number, parts: number): number[] {
  const bounds: number[] = [];
  for (let c = 0; c <= parts; c++) bounds.push(Math.floor((c * length) / parts));
  return bounds;
}

/** Splits [start, end) into segments of at most `segment` elements (at least one, possibly empty). */
export function segments(start: number, end: number, segment: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const step = Math.max(1, segment);
  for (let a = start; a < end; a += step) out.push([a, Math.min(end, a + step)]);
  if (out.length === 0) out.push([start, start]);
  return out;
}

export function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}
