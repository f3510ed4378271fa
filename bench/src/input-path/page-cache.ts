import { execFileSync } from 'node:child_process';

/**
 * The page cache of one file, through tools outside Node (Node has no posix_fadvise):
 * python3's os.posix_fadvise evicts a file's clean pages without root, and util-linux's
 * fincore says how much of it is still cached. Either may be missing: callers say so.
 */

/** Writes the file's dirty pages back and asks the kernel to drop its cached pages; false if python3 cannot. */
export function evictFromPageCache(file: string): boolean {
  const script = 'import os,sys\nfd=os.open(sys.argv[1],os.O_RDONLY)\nos.fsync(fd)\nos.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)\nos.close(fd)';
  try {
    execFileSync('python3', ['-c', script, file], { stdio: 'ignore', timeout: 120_000 });
    return true;
  } catch (error) {
    process.stderr.write(`input-path: could not evict ${file} from the page cache (${(error as Error).message}); cold-cache runs are skipped\n`);
    return false;
  }
}

/** Bytes of the file in the page cache, or undefined without fincore. */
export function cachedBytes(file: string): number | undefined {
  try {
    const out = execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file], { encoding: 'utf8', timeout: 60_000 });
    const bytes = Number(out.trim());
    return Number.isFinite(bytes) ? bytes : undefined;
  } catch (error) {
    process.stderr.write(`input-path: fincore failed (${(error as Error).message}); cached bytes not reported\n`);
    return undefined;
  }
}
