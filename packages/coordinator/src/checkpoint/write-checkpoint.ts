import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { formatChecksums, sha256Hex } from './checksums.js';
import { encodeCheckpointInfo, structureProblem } from './checkpoint-info.js';
import { CHECKPOINT_JSON, CHECKSUM_FILE, MODEL_JSON, STATE_BIN, WEIGHTS_BIN, type Checkpoint } from './checkpoint-types.js';
import { checkpointsDir, checkpointsDirEntries, GRAVE_PREFIX, listCheckpoints, stepDirName, TEMP_PREFIX } from './checkpoint-folders.js';
import { exists, fsyncDir, makeDirDurable, removeDirSafely, uniqueSuffix, writeFileDurable } from '@tfjs-ddp/job';
import { CheckpointError } from './errors.js';
import { bytesOf } from '@tfjs-ddp/protocol';

export interface WriteCheckpointOptions {
  /** Complete checkpoints to keep, the new one included; older ones are deleted. Default 3. */
  keep?: number;
}

export interface WrittenCheckpoint {
  /** The new checkpoint folder, `<run>/checkpoints/step-NNNNNN`. */
  dir: string;
  /** Older checkpoints deleted to keep `keep`. */
  removed: string[];
  /**
   * Checkpoints of a later step than the new one, moved aside to `superseded-step-…`: they
   * belong to a run that was resumed from an earlier checkpoint (the later one was
   * refused), and must not shadow the new one on the next resume. Kept for inspection.
   */
  superseded: string[];
  /** Removing older checkpoints or debris failed after the new one was in place (it stands; the next write tries again). */
  cleanupError?: Error;
}

export const DEFAULT_KEEP = 3;
const SUPERSEDED_PREFIX = 'superseded-';

/** Per run folder, the write in progress: writes to one run are done one after another. */
const writesInFlight = new Map<string, Promise<WrittenCheckpoint>>();

/**
 * Writes `<run>/checkpoints/step-NNNNNN/` so that a crash at any moment leaves either the
 * previous set of checkpoints or the new one complete: every file is written and fsynced
 * in a temp folder, the folder fsynced, renamed into place and its parent fsynced. Then
 * keeps only the newest `keep` checkpoints.
 *
 * Everything that can be checked is checked before the first byte is written
 * (CHECKPOINT_ERR_BAD_INPUT), and the checksums are taken at the call: `weights` and
 * `state` must not change until the promise settles, and if they do the checkpoint fails
 * its checksum on read rather than resuming from mixed data.
 *
 * A checkpoint of a step that is already there replaces it (the epoch end may fall on a
 * --checkpoint-every step); a crash in the middle of that replacement loses that one step's
 * folder, not the older ones. One process writes to a run folder at a time: writes from
 * this process are queued; two processes on one run folder are not supported.
 */
export async function writeCheckpoint(runDir: string, checkpoint: Checkpoint, options: WriteCheckpointOptions = {}): Promise<WrittenCheckpoint> {
  const keep = options.keep ?? DEFAULT_KEEP;
  if (!Number.isSafeInteger(keep) || keep < 1) {
    throw new CheckpointError('CHECKPOINT_ERR_BAD_INPUT', `keep must be an integer >= 1, got ${keep}`);
  }
  const problem = structureProblem(checkpoint);
  if (problem !== undefined) {
    throw new CheckpointError('CHECKPOINT_ERR_BAD_INPUT', `checkpoint of step ${String(checkpoint.step)} not written: ${problem}`);
  }
  const modelJson = new TextEncoder().encode(checkpoint.modelJson);
  const files = new Map<string, Uint8Array | string>([
    [MODEL_JSON, modelJson],
    [WEIGHTS_BIN, checkpoint.weights],
    // Raw float32 in host order, which is little-endian on every platform tfjs-node runs on (weights.bin assumes the same).
    [STATE_BIN, bytesOf(checkpoint.state)],
    [CHECKPOINT_JSON, encodeCheckpointInfo(checkpoint, modelJson.byteLength, new Date())],
  ]);
  const sums = formatChecksums(new Map([...files].map(([name, data]) => [name, sha256Hex(data)])));

  const key = path.resolve(runDir);
  const write = (): Promise<WrittenCheckpoint> => writeNow(runDir, checkpoint.step, files, sums, keep);
  // The previous write's failure was already reported to its own caller; this one runs either way.
  const previous = writesInFlight.get(key);
  const current = previous === undefined ? write() : previous.then(write, write);
  writesInFlight.set(key, current);
  const forget = (): void => {
    if (writesInFlight.get(key) === current) writesInFlight.delete(key);
  };
  current.then(forget, forget);
  return current;
}

async function writeNow(runDir: string, step: number, files: ReadonlyMap<string, Uint8Array | string>, sums: string, keep: number): Promise<WrittenCheckpoint> {
  const parent = checkpointsDir(runDir);
  await makeDirDurable(parent);
  const name = stepDirName(step);
  const final = path.join(parent, name);
  const temp = path.join(parent, `${TEMP_PREFIX}${name}-${uniqueSuffix()}`);
  let replaced: string | undefined;
  await mkdir(temp);
  let moved = false;
  try {
    for (const [file, data] of files) await writeFileDurable(path.join(temp, file), data);
    // Last, so that even the temp folder only has a checksum file once everything else is on disk.
    await writeFileDurable(path.join(temp, CHECKSUM_FILE), sums);
    await fsyncDir(temp);
    if (await exists(final)) {
      replaced = path.join(parent, `${GRAVE_PREFIX}${name}-${uniqueSuffix()}`);
      await rename(final, replaced);
    }
    await rename(temp, final);
    moved = true;
    await fsyncDir(parent);
  } catch (err) {
    // Leave no debris behind a failed write (a full disk, say); the old checkpoints are untouched.
    // A failed clean-up is told along with the write's own error, never instead of it.
    const undo: Promise<unknown>[] = [moved ? Promise.resolve() : rm(temp, { recursive: true, force: true })];
    if (replaced !== undefined && !moved) undo.push(rename(replaced, final));
    const failed = (await Promise.allSettled(undo)).flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    if (failed.length > 0) (err as Error).message += ` (and cleaning up failed: ${failed.join('; ')})`;
    throw err;
  }
  const result: WrittenCheckpoint = { dir: final, removed: [], superseded: [] };
  try {
    if (replaced !== undefined) await rm(replaced, { recursive: true, force: true });
    await prune(runDir, step, keep, result);
  } catch (err) {
    result.cleanupError = err as Error;
  }
  return result;
}

async function prune(runDir: string, newStep: number, keep: number, result: WrittenCheckpoint): Promise<void> {
  const parent = checkpointsDir(runDir);
  let kept = 0;
  for (const entry of await listCheckpoints(runDir)) {
    if (entry.step > newStep && entry.complete) {
      const aside = path.join(parent, `${SUPERSEDED_PREFIX}${path.basename(entry.dir)}-${uniqueSuffix()}`);
      await rename(entry.dir, aside);
      result.superseded.push(aside);
    } else if (entry.complete && kept < keep) {
      kept += 1;
    } else {
      // Older than the newest `keep`, or a step folder without its checksum file, which no finished write leaves.
      await removeDirSafely(entry.dir, `${GRAVE_PREFIX}${path.basename(entry.dir)}-${uniqueSuffix()}`);
      result.removed.push(entry.dir);
    }
  }
  // What a crash left: temp folders of unfinished writes, retired folders not yet deleted.
  // Safe because writes to this run are queued and no other process writes here.
  for (const name of await checkpointsDirEntries(runDir)) {
    if (name.startsWith(TEMP_PREFIX) || name.startsWith(GRAVE_PREFIX)) await rm(path.join(parent, name), { recursive: true, force: true });
  }
  await fsyncDir(parent);
}
