import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

/**
 * A real full disk: a tmpfs of `bytes` mounted at `dir` (made if missing). Writes past
 * its size fail with ENOSPC in the middle of a file, as on a full volume. Needs the
 * right to mount (root in this project's CI container); returns false where that is
 * refused, so the caller can fall back to another real fault.
 */
export function mountSmallDisk(dir: string, bytes: number): boolean {
  mkdirSync(dir, { recursive: true });
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { encoding: 'utf8', timeout: 10_000 });
  return result.status === 0;
}

/** Unmounts what mountSmallDisk mounted (lazily: a process may still hold a file there). */
export function unmountSmallDisk(dir: string): void {
  const result = spawnSync('umount', ['-l', dir], { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) process.emitWarning(`could not unmount the test tmpfs at ${dir}: ${result.stderr}`);
}
