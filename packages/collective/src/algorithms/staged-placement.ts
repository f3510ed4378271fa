import type { Schedule } from './transfer-schedule.js';

/** A range of the operation buffer: [offset, offset + count). */
export type Range = readonly [offset: number, count: number];

/**
 * Where each transfer of a schedule runs when the caller's buffer lies outside every wasm
 * memory, so that combines need a copy of it in one (`ScheduleCollectives`' staging
 * memory): only what a receive combines into is staged. A ring all-reduce then copies
 * (P-1)/P of the buffer in (every chunk but the one sent first, straight from the caller's
 * buffer) and 1/P out (the chunk this rank reduced); the all-gather receives land in the
 * caller's buffer and are forwarded from there. Copying the whole buffer in and out moved
 * twice as many bytes, 12 % of a 4-process all-reduce's CPU on two cores.
 */
export interface StagedPlacement {
  /** Per transfer: true when it reads or writes the staging copy, false the caller's buffer. */
  readonly staged: readonly boolean[];
  /** Copied caller -> staging before the schedule runs. */
  readonly copyIn: readonly Range[];
  /** Copied staging -> caller after it. */
  readonly copyOut: readonly Range[];
}

/**
 * The placement of `schedule`, or undefined when the rule does not apply: transfer ranges
 * must be equal or disjoint (the ring's and recursive doubling's are), and a range the
 * schedule overwrote in the caller's buffer is never combined into afterwards (its staged
 * copy, taken before the run, would be stale). Schedule order is the order of every two
 * transfers that touch one range with a write (`ScheduleBuilder` makes them depend), so
 * following it gives where each range's latest values are when a transfer starts.
 */
export function stagedPlacement(schedule: Schedule): StagedPlacement | undefined {
  const ranges = new Map<string, Range>();
  for (const t of schedule.transfers) if (t.count > 0) ranges.set(`${t.offset}:${t.count}`, [t.offset, t.count]);
  const sorted = [...ranges.values()].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < sorted.length; i++) {
    const [offset, count] = sorted[i - 1] as Range;
    if ((sorted[i] as Range)[0] < offset + count) return undefined;
  }
  /** Per range: true while the staging copy holds its latest values. */
  const latestStaged = new Map<string, boolean>();
  const overwritten = new Set<string>();
  const staged: boolean[] = [];
  const copyIn: Range[] = [];
  for (const t of schedule.transfers) {
    const key = `${t.offset}:${t.count}`;
    if (t.count === 0) {
      staged.push(false);
    } else if (t.kind === 'recv' && t.combine) {
      if (latestStaged.get(key) !== true) {
        if (overwritten.has(key)) return undefined;
        copyIn.push([t.offset, t.count]);
        latestStaged.set(key, true);
      }
      staged.push(true);
    } else if (t.kind === 'recv') {
      latestStaged.set(key, false);
      overwritten.add(key);
      staged.push(false);
    } else {
      staged.push(latestStaged.get(key) === true);
    }
  }
  const copyOut = [...latestStaged].filter(([, s]) => s).map(([key]) => ranges.get(key) as Range);
  return { staged, copyIn, copyOut };
}
