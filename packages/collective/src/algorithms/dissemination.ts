import { ScheduleBuilder, mod } from './transfer-schedule.js';
import type { Schedule } from './transfer-schedule.js';

/**
 * Dissemination barrier: ceil(log2 P) rounds of empty messages; in round k rank r
 * signals r+2^k and waits for r-2^k. After the last round every rank has heard,
 * directly or not, from every other.
 */
export function disseminationBarrier(rank: number, size: number): Schedule {
  const b = new ScheduleBuilder('dissemination', rank, size, 0);
  for (let d = 1; d < size; d *= 2) {
    b.send(mod(rank + d, size), 0, 0);
    b.recv(mod(rank - d, size), 0, 0, false);
    b.fence();
  }
  return b.build();
}
