import { ScheduleBuilder } from './transfer-schedule.js';
import type { Schedule } from './transfer-schedule.js';

/**
 * Recursive doubling all-reduce (latency-optimal: ceil(log2 P) rounds, each exchanging
 * the whole buffer). For P not a power of two, the ranks past the largest power of two
 * first fold their buffer into a partner and get the result back at the end.
 * Bit-identical results rely on combine being commutative bit for bit: in every round
 * the two partners compute a+b and b+a (see `reduce/reduce-op.ts` for max).
 */
export function recursiveDoublingAllReduce(rank: number, size: number, length: number): Schedule {
  const b = new ScheduleBuilder('recursive-doubling', rank, size, length);
  let pow2 = 1;
  while (pow2 * 2 <= size) pow2 *= 2;
  const extra = size - pow2;
  if (rank >= pow2) {
    b.send(rank - pow2, 0, length);
    b.recv(rank - pow2, 0, length, false);
    return b.build();
  }
  if (rank < extra) b.recv(rank + pow2, 0, length, true);
  for (let mask = 1; mask < pow2; mask *= 2) {
    const partner = rank ^ mask;
    b.send(partner, 0, length);
    b.recv(partner, 0, length, true);
  }
  if (rank < extra) b.send(rank + pow2, 0, length);
  return b.build();
}
