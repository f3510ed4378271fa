import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

/**
 * The few file-system steps a crash-safe write needs. Data is fsynced before it is made
 * visible by a rename, and the folder holding a rename is fsynced after it, so that after
 * a power cut the rename is either not there or there with all its data.
 */

/** Creates `file` (which must not exist), writes `data` and fsyncs it before closing. */
export async function writeFileDurable(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Fsyncs a folder, which persists the names created, renamed or removed in it. Windows
 * cannot open a folder for fsync and NTFS journals renames itself, so there it is skipped.
 */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A name no other writer (in this or another process) will pick: pid plus random bits. */
export function uniqueSuffix(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Removes a folder so that no crash midway leaves it half-deleted under its own name:
 * first renamed to `graveyardName` (one atomic step), then deleted at leisure. Whatever a
 * crash leaves under the graveyard name is cleaned by the next write.
 */
export async function removeDirSafely(dir: string, graveyardName: string): Promise<void> {
  const grave = path.join(path.dirname(dir), graveyardName);
  await rename(dir, grave);
  await rm(grave, { recursive: true, force: true });
}

/** Whether anything is at `file`; errors other than "not there" (permissions, I/O) are thrown. */
export async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** mkdir -p, then fsync the folder above each folder it created, so the new names survive a power cut. */
export async function makeDirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = dir; ; d = path.dirname(d)) {
    await fsyncDir(path.dirname(d));
    if (d === first || path.dirname(d) === d) break;
  }
}
