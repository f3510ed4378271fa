import { Worker } from 'node:worker_threads';
import { createThreadGroup } from '@tfjs-ddp/collective';
import { summarize } from './result.js';
import type { BenchLine } from './result.js';
import type { ThreadBenchStart } from './thread-worker.js';

/** Threads of this process sharing memory; `zeroCopy` uses buffers from allocShared. */
export async function benchThreads(
  ranks: number,
  sizes: readonly number[],
  zeroCopy: boolean,
  iters: number | undefined,
  emit: (line: BenchLine) => void,
): Promise<void> {
  const largest = Math.max(...sizes);
  const group = createThreadGroup({
    threads: ranks,
    slotBytes: largest,
    arenaBytes: zeroCopy ? sizes.reduce((a, b) => a + b, 0) : 0,
    opTimeoutMs: 120_000
  });
  const workers = Array.from({ length: ranks }, (_, localRank) => {
    const start: ThreadBenchStart = { handle: group.handle, localRank, sizes, zeroCopy, iters };
    const w = new Worker(new URL('./thread-worker.js', import.meta.url), { workerData: start });
    const transport = zeroCopy ? 'shared-memory-zero-copy' : 'shared-memory';
    w.on('message', (m: { bytes: number; times: number[] }) => emit(summarize('threads', transport, ranks, m.bytes, m.times)));
    return new Promise<void>((resolve, reject) => {
      w.on('error', reject);
      w.on('exit', () => resolve());
    });
  });
  try {
    await Promise.all(workers);
  } finally {
    group.close();
  }
}
