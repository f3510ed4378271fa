import { ScheduleBuilder, mod, segments } from './transfer-schedule.js';
import type { Schedule } from './transfer-schedule.js';

/**
 * Binomial-tree broadcast from `root`: ceil(log2 P) hops deep, and segmented so that a
 * rank forwards segment k to its children while segment k+1 is still arriving.
 */
export function binomialBroadcast(rank: number, size: number, length: number, root: number, segment: number): Schedule {
  const b = new ScheduleBuilder('binomial-tree', rank, size, length);
  const v = mod(rank - root, size);
  let parent = -1;
  let mask = 1;
  while (mask < size) {
    if (v & mask) {
      parent = mod(v - mask + root, size);
      break;
    }
    mask *= 2;
  }
  const children: number[] = [];
  for (let m = mask / 2; m >= 1; m /= 2) {
    if (v + m < size) children.push(mod(v + m + root, size));
  }
  for (const [a, e] of segments(0, length, segment)) {
    if (parent >= 0) b.recv(parent, a, e - a, false);
    for (const child of children) b.send(child, a, e - a);
  }
  return b.build();
}
