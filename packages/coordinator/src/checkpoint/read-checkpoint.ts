import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseChecksums, sha256Hex } from './checksums.js';
import { decodeCheckpointInfo, stateLayoutProblem } from './checkpoint-info.js';
import { checkpointsDir, listCheckpoints, parseStepDirName } from './checkpoint-folders.js';
import { CHECKPOINT_JSON, CHECKSUM_FILE, CHECKSUMMED_FILES, MODEL_JSON, STATE_BIN, WEIGHTS_BIN, type StoredCheckpoint } from './checkpoint-types.js';
import { CheckpointError, isCheckpointError } from './errors.js';
import { modelFolderProblem } from './model-manifest.js';

export interface ReadLatestOptions {
  /**
   * When the newest checkpoint fails verification, take the newest one that passes
   * instead of refusing; the refused ones are reported in `skipped`. Default false.
   */
  fallback?: boolean;
}

/** A checkpoint folder passed over on the way to the one returned, and why. */
export interface SkippedCheckpoint {
  step: number;
  dir: string;
  /** True for a folder no finished write left (no checksum file); false for one that failed verification. */
  unfinished: boolean;
  reason: CheckpointError;
}

export interface LatestCheckpoint {
  checkpoint: StoredCheckpoint;
  /** Newer folders not used: unfinished writes (always), refused ones (with `fallback`). For the log. */
  skipped: SkippedCheckpoint[];
}

function corrupt(dir: string, file: string, reason: string, cause?: unknown): CheckpointError {
  return new CheckpointError('CHECKPOINT_ERR_CORRUPT', `${dir}: ${file} ${reason}`, { dir, file, cause });
}

async function readChecked(dir: string, file: string): Promise<Buffer> {
  try {
    return await readFile(path.join(dir, file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw corrupt(dir, file, 'is missing', err);
    throw err;
  }
}

/**
 * Reads one checkpoint folder and verifies it: the checksum file first (it must list
 * exactly the expected files), every file against it, then checkpoint.json's structure and
 * format version, then that the sizes agree with each other. Throws CHECKPOINT_ERR_CORRUPT
 * (or _VERSION) naming the folder and the file that failed.
 */
export async function readCheckpoint(dir: string): Promise<StoredCheckpoint> {
  const sums = parseChecksums((await readChecked(dir, CHECKSUM_FILE)).toString('utf8'));
  if (typeof sums === 'string') throw corrupt(dir, CHECKSUM_FILE, sums);
  for (const name of sums.keys()) {
    if (!(CHECKSUMMED_FILES as readonly string[]).includes(name)) throw corrupt(dir, CHECKSUM_FILE, `lists ${name}, which is no checkpoint file`);
  }
  const bytes = new Map<string, Buffer>();
  for (const file of CHECKSUMMED_FILES) {
    const expected = sums.get(file);
    if (expected === undefined) throw corrupt(dir, CHECKSUM_FILE, `does not list ${file}`);
    const data = await readChecked(dir, file);
    const actual = sha256Hex(data);
    if (actual !== expected) throw corrupt(dir, file, `failed its checksum (sha256 ${actual}, ${CHECKSUM_FILE} says ${expected})`);
    bytes.set(file, data);
  }
  const get = (file: string): Buffer => bytes.get(file) as Buffer;

  const info = decodeCheckpointInfo(get(CHECKPOINT_JSON).toString('utf8'), dir, CHECKPOINT_JSON);
  // The checksums only prove the files are as written; these prove they were written consistently.
  const folderStep = parseStepDirName(path.basename(dir));
  if (folderStep !== undefined && folderStep !== info.step) {
    throw corrupt(dir, CHECKPOINT_JSON, `says step ${info.step}, but the folder is named for step ${folderStep}`);
  }
  for (const file of [MODEL_JSON, WEIGHTS_BIN, STATE_BIN] as const) {
    const size = get(file).byteLength;
    if (size !== info.files[file]) throw corrupt(dir, file, `has ${size} bytes, but ${CHECKPOINT_JSON} says ${info.files[file]}`);
  }
  const stateBytes = get(STATE_BIN);
  if (stateBytes.byteLength !== info.stateLength * Float32Array.BYTES_PER_ELEMENT) {
    throw corrupt(dir, STATE_BIN, `has ${stateBytes.byteLength} bytes, but ${CHECKPOINT_JSON} says ${info.stateLength} float32 values`);
  }
  if (info.stateLayout !== undefined) {
    const problem = stateLayoutProblem(info.stateLayout, info.stateLength);
    if (problem !== undefined) throw corrupt(dir, CHECKPOINT_JSON, problem);
  }
  let modelJson: string;
  try {
    modelJson = new TextDecoder('utf-8', { fatal: true }).decode(get(MODEL_JSON));
  } catch (cause) {
    throw corrupt(dir, MODEL_JSON, 'is not UTF-8', cause);
  }
  const weights = get(WEIGHTS_BIN);
  const modelProblem = modelFolderProblem(modelJson, weights.byteLength);
  if (modelProblem !== undefined) throw corrupt(dir, MODEL_JSON, `does not fit ${WEIGHTS_BIN}: ${modelProblem}`);

  // Copied into a fresh buffer: a Buffer's offset need not be a multiple of 4, which a Float32Array view requires.
  const state = new Float32Array(info.stateLength);
  new Uint8Array(state.buffer).set(stateBytes);
  const checkpoint: StoredCheckpoint = {
    dir,
    createdAt: info.createdAt,
    formatVersion: info.formatVersion,
    step: info.step,
    epoch: info.epoch,
    config: info.config,
    sampler: info.sampler,
    modelJson,
    // A plain Uint8Array over the same memory, so callers compare it like the one they wrote.
    weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
    state,
  };
  if (info.stateLayout !== undefined) checkpoint.stateLayout = info.stateLayout;
  if (info.meta !== undefined) checkpoint.meta = info.meta;
  return checkpoint;
}

/**
 * The newest checkpoint of a run that passes verification. Step folders without their
 * checksum file (no finished write leaves one) are passed over and reported in `skipped`.
 * A refused newest checkpoint throws its CHECKPOINT_ERR_CORRUPT / _VERSION error unless
 * `fallback` is set; no usable checkpoint at all throws CHECKPOINT_ERR_NONE (nothing
 * there) or CHECKPOINT_ERR_CORRUPT (all refused), naming `<run>/checkpoints`. I/O errors
 * other than a missing file (permissions, EIO) are thrown as they are: no fallback hides them.
 */
export async function readLatestCheckpoint(runDir: string, options: ReadLatestOptions = {}): Promise<LatestCheckpoint> {
  const skipped: SkippedCheckpoint[] = [];
  for (const entry of await listCheckpoints(runDir)) {
    if (!entry.complete) {
      const reason = corrupt(entry.dir, CHECKSUM_FILE, 'is missing: an unfinished write, ignored');
      skipped.push({ step: entry.step, dir: entry.dir, unfinished: true, reason });
      continue;
    }
    try {
      return { checkpoint: await readCheckpoint(entry.dir), skipped };
    } catch (err) {
      if (!isCheckpointError(err) || options.fallback !== true) throw err;
      skipped.push({ step: entry.step, dir: entry.dir, unfinished: false, reason: err });
    }
  }
  const where = checkpointsDir(runDir);
  const refused = skipped.filter((s) => !s.unfinished);
  if (refused.length > 0) {
    const reasons = refused.map((s) => s.reason.message).join('; ');
    throw new CheckpointError('CHECKPOINT_ERR_CORRUPT', `no checkpoint in ${where} passed verification: ${reasons}`, { dir: where });
  }
  const ignored = skipped.length > 0 ? ` (ignored ${skipped.length} unfinished: ${skipped.map((s) => path.basename(s.dir)).join(', ')})` : '';
  throw new CheckpointError('CHECKPOINT_ERR_NONE', `no checkpoint in ${where}${ignored}`, { dir: where });
}
