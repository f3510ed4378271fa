import { CollectiveError, collectiveError, errorCodeAt, errorCodeIndex } from '../errors.js';
import type { CollectiveErrorCode } from '../errors.js';
import { DONE_SEQ, ERR_CODE, ERR_PEER, GROUP_GEN, MAX_GROUPS, REQ_KICK, REQ_SEQ } from './shared-layout.js';
import { STATE, STATE_FAILED, STATE_FAILING, STATE_OPEN, groupField } from './shared-layout.js';

/**
 * Blocking waits and the failure flag of a thread group's control block. Every wait has
 * a deadline and wakes on failure: a failure is written once (first writer wins) and
 * every wait address is notified, so all threads see it at once.
 */

/** Records a failure (if none yet) and wakes every waiter. Usable from any thread. */
export function failShared(control: Int32Array, code: CollectiveErrorCode, peer: number | undefined): void {
  if (Atomics.compareExchange(control, STATE, STATE_OPEN, STATE_FAILING) === STATE_OPEN) {
    Atomics.store(control, ERR_CODE, errorCodeIndex(code));
    Atomics.store(control, ERR_PEER, peer ?? -1);
    Atomics.store(control, STATE, STATE_FAILED);
  }
  Atomics.notify(control, STATE);
  Atomics.notify(control, REQ_SEQ);
  Atomics.notify(control, REQ_KICK);
  Atomics.notify(control, DONE_SEQ);
  for (let g = 0; g < MAX_GROUPS; g++) Atomics.notify(control, groupField(g, GROUP_GEN));
}

/** Runs `body`; a failure inside it fails the whole group (the others must not wait for this rank), then is rethrown. */
export function failSharedOnThrow(control: Int32Array, body: () => void): void {
  try {
    body();
  } catch (err) {
    if (err instanceof CollectiveError) failShared(control, err.code, err.peer);
    else failShared(control, 'COLL_ERR_UNKNOWN', undefined);
    throw err;
  }
}

/** The recorded failure, or undefined while the group is open. */
export function sharedFailure(control: Int32Array): CollectiveError | undefined {
  let state = Atomics.load(control, STATE);
  if (state === STATE_OPEN) return undefined;
  // Another thread is writing the failure: it takes a few instructions.
  while (state === STATE_FAILING) state = Atomics.load(control, STATE);
  const code = errorCodeAt(Atomics.load(control, ERR_CODE));
  const peer = Atomics.load(control, ERR_PEER);
  return collectiveError(code, describe(code, peer), peer < 0 ? undefined : peer);
}

function describe(code: CollectiveErrorCode, peer: number): string {
  const who = peer < 0 ? '' : ` (rank ${peer})`;
  switch (code) {
    case 'COLL_ERR_TIMEOUT':
      return `a collective operation missed its deadline${who}`;
    case 'COLL_ERR_PEER_LOST':
      return `a peer process was lost${who}`;
    case 'COLL_ERR_ABORTED':
      return `the group was aborted${who}`;
    case 'COLL_ERR_CLOSED':
      return 'the group was closed';
    default:
      return `the group failed: ${code}${who}`;
  }
}

export function throwIfFailed(control: Int32Array): void {
  const failure = sharedFailure(control);
  if (failure) throw failure;
}

export interface WaitPolicy {
  /** Spin this long before sleeping (worth it only while threads <= cores). */
  readonly spinMicros: number;
  /** Absolute deadline (Date.now() ms). */
  readonly deadline: number;
  /** Rank blamed if the deadline passes (the caller's own rank: it cannot know who is late). */
  readonly what: string;
}

/** Blocks while control[index] === value; throws the group's failure or a timeout (which fails the group). */
export function waitWhileEqual(control: Int32Array, index: number, value: number, policy: WaitPolicy): void {
  if (Atomics.load(control, index) !== value) return;
  if (policy.spinMicros > 0) {
    const until = performance.now() + policy.spinMicros / 1000;
    for (let i = 1; ; i++) {
      if (Atomics.load(control, index) !== value) return;
      if ((i & 63) === 0 && performance.now() > until) break;
    }
  }
  for (;;) {
    throwIfFailed(control);
    const left = policy.deadline - Date.now();
    if (left <= 0) {
      failShared(control, 'COLL_ERR_TIMEOUT', undefined);
      throw collectiveError('COLL_ERR_TIMEOUT', `${policy.what} did not complete before its deadline`);
    }
    // Sleep in slices so a missed wake-up can never outlast the deadline check.
    if (Atomics.wait(control, index, value, Math.min(left, 250)) !== 'timed-out' && Atomics.load(control, index) !== value) {
      throwIfFailed(control);
      return;
    }
  }
}

/**
 * Blocks until control[index] >= value (a counter that only grows: DONE_SEQ); throws the
 * group's failure, or a timeout (which fails the group) past the policy's deadline. A
 * counter already there returns at once: what it counts has completed.
 */
export function waitAtLeast(control: Int32Array, index: number, value: number, policy: WaitPolicy): void {
  for (let seen = Atomics.load(control, index); seen < value; seen = Atomics.load(control, index)) {
    waitWhileEqual(control, index, seen, policy);
  }
}

/**
 * Central sense-reversing barrier of a group of `members` threads: the last to arrive
 * resets the count and bumps the generation the others wait on.
 */
export function barrierWait(control: Int32Array, countIndex: number, genIndex: number, members: number, policy: WaitPolicy): void {
  throwIfFailed(control);
  if (members <= 1) return;
  const gen = Atomics.load(control, genIndex);
  if (Atomics.add(control, countIndex, 1) === members - 1) {
    Atomics.store(control, countIndex, 0);
    Atomics.add(control, genIndex, 1);
    Atomics.notify(control, genIndex);
    return;
  }
  waitWhileEqual(control, genIndex, gen, policy);
}
