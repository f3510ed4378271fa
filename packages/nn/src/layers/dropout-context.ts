/**
 * What a dropout mask depends on during one training step. The replica sets it around
 * its forward pass; `SampleDropout` reads it. Keeping the masks a function of
 * (run seed, step, global sample index) makes a sample's mask the same whichever
 * replica, and whichever shard size, computes it.
 */
export interface DropoutContext {
  runSeed: number;
  step: number;
  /** Global data-set index of each sample of the batch being computed, in batch order. */
  sampleIndices: Int32Array;
}

let current: DropoutContext | undefined;

export function currentDropoutContext(): DropoutContext | undefined {
  return current;
}

/** Runs `fn` with `context` visible to every `SampleDropout` layer, then restores the previous one. */
export function withDropoutContext<T>(context: DropoutContext, fn: () => T): T {
  const previous = current;
  current = context;
  try {
    return fn();
  } finally {
    current = previous;
  }
}
