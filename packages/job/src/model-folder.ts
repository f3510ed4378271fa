import { readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { exists, fsyncDir, makeDirDurable, uniqueSuffix, writeFileDurable } from './durable-fs.js';
import { JobError } from './errors.js';

/** The two files of a tfjs layers model folder. */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
/** Where a model write builds its files; a dot-name, so nothing takes it for a model. */
const TEMP_PREFIX = '.tmp-model-';

/**
 * Writes a model folder from its bytes (what the coordinator does with the model rank 0
 * sends, without tfjs) as the checkpoints are written: both files are written and fsynced
 * in a temp folder beside them, then renamed into place and the folder fsynced. A reader
 * never sees a half-written file, nor a model.json naming weights that are not its own:
 * an old model.json is moved out first, so a crash between the renames leaves no
 * model.json rather than a mismatched one. A failed write removes its temp folder, puts an
 * old model.json back, and throws JOB_ERR_WRITE naming the folder and the cause.
 */
export async function writeModelFolder(dir: string, modelJson: string, weights: Uint8Array): Promise<string> {
  const jsonPath = path.join(dir, MODEL_JSON);
  let temp: string | undefined;
  let oldJson: string | undefined;
  try {
    await makeDirDurable(dir);
    // What a crash left behind in an earlier write to this folder.
    for (const name of await readdir(dir)) if (name.startsWith(TEMP_PREFIX)) await rm(path.join(dir, name), { recursive: true, force: true });
    temp = path.join(dir, `${TEMP_PREFIX}${uniqueSuffix()}`);
    await makeDirDurable(temp);
    await writeFileDurable(path.join(temp, WEIGHTS_BIN), weights);
    await writeFileDurable(path.join(temp, MODEL_JSON), modelJson);
    await fsyncDir(temp);
    if (await exists(jsonPath)) {
      oldJson = path.join(temp, `old-${MODEL_JSON}`);
      await rename(jsonPath, oldJson);
    }
    await rename(path.join(temp, WEIGHTS_BIN), path.join(dir, WEIGHTS_BIN));
    await rename(path.join(temp, MODEL_JSON), jsonPath);
    oldJson = undefined;
    await fsyncDir(dir);
  } catch (cause) {
    const undo = await undoFailedWrite(jsonPath, temp, oldJson);
    throw new JobError('JOB_ERR_WRITE', `the model folder ${dir} was not written: ${(cause as Error).message}${undo}`, { cause });
  }
  await rm(temp, { recursive: true, force: true });
  return jsonPath;
}

/** Puts a moved-out model.json back and removes the temp folder; says what could not be undone. */
async function undoFailedWrite(jsonPath: string, temp: string | undefined, oldJson: string | undefined): Promise<string> {
  const problems: string[] = [];
  if (oldJson !== undefined) {
    try {
      // Where the new one did arrive (only the folder fsync failed), the old one is done with.
      if (!(await exists(jsonPath))) await rename(oldJson, jsonPath);
    } catch (error) {
      problems.push(`the previous ${MODEL_JSON} stays at ${oldJson} (${(error as Error).message})`);
    }
  }
  if (temp !== undefined && problems.length === 0) {
    await rm(temp, { recursive: true, force: true }).catch((error: unknown) => problems.push(`its temp folder ${temp} is left (${(error as Error).message})`));
  }
  return problems.length === 0 ? '' : `; also ${problems.join('; ')}`;
}
