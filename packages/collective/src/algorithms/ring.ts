import { ScheduleBuilder, mod, partition, segments } from './transfer-schedule.js';
import type { Schedule } from './transfer-schedule.js';

/**
 * Ring algorithms (bandwidth-optimal: each rank sends 2(P-1)/P of the buffer for an
 * all-reduce). The buffer is cut into P chunks; after the reduce-scatter phase rank r
 * holds chunk r fully reduced — computed by r alone, in one fixed order — and the
 * all-gather phase copies those bits to everyone, so all ranks end bit-identical.
 * Chunks are cut into segments so that sending, receiving and combining overlap.
 */
function ringPhase(b: ScheduleBuilder, bounds: readonly number[], segment: number, phase: 'reduce-scatter' | 'all-gather'): void {
  const { rank: r, size: p } = b;
  const next = mod(r + 1, p);
  const prev = mod(r - 1, p);
  // Reduce-scatter ends with rank r holding chunk r, so it starts one chunk further back.
  const combine = phase === 'reduce-scatter';
  const lag = combine ? 1 : 0;
  for (let s = 0; s < p - 1; s++) {
    const sendChunk = mod(r - s - lag, p);
    const recvChunk = mod(r - s - lag - 1, p);
    const sendSegs = segments(bounds[sendChunk] as number, bounds[sendChunk + 1] as number, segment);
    const recvSegs = segments(bounds[recvChunk] as number, bounds[recvChunk + 1] as number, segment);
    for (let k = 0; k < Math.max(sendSegs.length, recvSegs.length); k++) {
      const out = sendSegs[k];
      const into = recvSegs[k];
      if (out) b.send(next, out[0], out[1] - out[0]);
      if (into) b.recv(prev, into[0], into[1] - into[0], combine);
    }
  }
}

export function ringAllReduce(rank: number, size: number, length: number, segment: number): Schedule {
  const b = new ScheduleBuilder('ring', rank, size, length);
  const bounds = partition(length, size);
  ringPhase(b, bounds, segment, 'reduce-scatter');
  ringPhase(b, bounds, segment, 'all-gather');
  return b.build();
}

/** Buffer of size*chunk elements; rank r ends with chunk r reduced (other chunks are scratch). */
export function ringReduceScatter(rank: number, size: number, chunk: number, segment: number): Schedule {
  return ringReduceScatterParts(rank, size, equalParts(size, chunk), segment);
}

/** Buffer of size*chunk elements with rank r's part already at chunk r; everyone ends with all parts. */
export function ringAllGather(rank: number, size: number, chunk: number, segment: number): Schedule {
  return ringAllGatherParts(rank, size, equalParts(size, chunk), segment);
}

/**
 * Reduce-scatter over parts of any sizes (possibly empty): rank r owns [bounds[r],
 * bounds[r+1]) of a buffer of bounds[size] elements and ends with that part reduced
 * (the rest is scratch). For a hierarchical group whose processes host different
 * numbers of rank threads.
 */
export function ringReduceScatterParts(rank: number, size: number, bounds: readonly number[], segment: number): Schedule {
  const b = new ScheduleBuilder('ring-reduce-scatter', rank, size, bounds[size] as number);
  ringPhase(b, bounds, segment, 'reduce-scatter');
  return b.build();
}

/** All-gather over parts of any sizes: rank r's part [bounds[r], bounds[r+1]) is in place; everyone ends with all parts. */
export function ringAllGatherParts(rank: number, size: number, bounds: readonly number[], segment: number): Schedule {
  const b = new ScheduleBuilder('ring-all-gather', rank, size, bounds[size] as number);
  ringPhase(b, bounds, segment, 'all-gather');
  return b.build();
}

/** Bounds of `size` parts of `chunk` elements each (what `partition(size * chunk, size)` gives, exactly). */
function equalParts(size: number, chunk: number): number[] {
  return Array.from({ length: size + 1 }, (_, c) => c * chunk);
}
