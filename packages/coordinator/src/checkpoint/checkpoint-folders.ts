import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { CHECKPOINTS_DIR, CHECKSUM_FILE } from './checkpoint-types.js';
import { exists } from '@tfjs-ddp/job';

/**
 * Names inside `<run>/checkpoints/`. Only `step-NNNNNN` folders are checkpoints; the
 * writer builds a new one under a dot-name (`.tmp-…`) and retires an old one under
 * another (`.old-…`), so a folder half-written or half-deleted never carries a step name.
 */

const STEP_PREFIX = 'step-';
export const TEMP_PREFIX = '.tmp-';
export const GRAVE_PREFIX = '.old-';

/** Zero-padded so that `ls` sorts them; the step is parsed, not compared as text, past 999999. */
export function stepDirName(step: number): string {
  return `${STEP_PREFIX}${String(step).padStart(6, '0')}`;
}

/** The step a folder name stands for, or undefined for any other name (including `step-12`, which the writer never makes). */
export function parseStepDirName(name: string): number | undefined {
  if (!/^step-\d+$/.test(name)) return undefined;
  const step = Number(name.slice(STEP_PREFIX.length));
  return Number.isSafeInteger(step) && stepDirName(step) === name ? step : undefined;
}

export function checkpointsDir(runDir: string): string {
  return path.join(runDir, CHECKPOINTS_DIR);
}

export interface CheckpointEntry {
  step: number;
  /** Absolute or as given: `runDir` joined with `checkpoints/step-…`. */
  dir: string;
  /**
   * Whether the checksum file is there. The writer renames a folder into place only
   * after its checksum file is written, so one without it was not made by a finished write.
   * Complete does not mean verified: readCheckpoint checks the contents.
   */
  complete: boolean;
}

/** The names in `<run>/checkpoints/`, or none when that folder does not exist yet. */
export async function checkpointsDirEntries(runDir: string): Promise<string[]> {
  try {
    return await readdir(checkpointsDir(runDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The checkpoint folders of a run, newest (highest step) first. Temp and retired folders are left out. */
export async function listCheckpoints(runDir: string): Promise<CheckpointEntry[]> {
  const entries: CheckpointEntry[] = [];
  for (const name of await checkpointsDirEntries(runDir)) {
    const step = parseStepDirName(name);
    if (step === undefined) continue;
    const dir = path.join(checkpointsDir(runDir), name);
    if (!(await stat(dir)).isDirectory()) continue;
    entries.push({ step, dir, complete: await exists(path.join(dir, CHECKSUM_FILE)) });
  }
  return entries.sort((a, b) => b.step - a.step);
}
