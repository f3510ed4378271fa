/** A rank thread of the threads benchmark: times every all-reduce on its own buffer. */
import { parentPort, workerData } from 'node:worker_threads';
import { joinThreadGroup } from '@tfjs-ddp/collective';
import type { ThreadGroupHandle } from '@tfjs-ddp/collective';
import { iterationsFor, warmupsFor } from './options.js';

export interface ThreadBenchStart {
  readonly handle: ThreadGroupHandle;
  readonly localRank: number;
  readonly sizes: readonly number[];
  readonly zeroCopy: boolean;
  readonly iters: number | undefined;
}

const start = workerData as ThreadBenchStart;
const comm = joinThreadGroup(start.handle, start.localRank);
for (const bytes of start.sizes) {
  const n = bytes >>> 2;
  const buf = start.zeroCopy ? comm.allocShared(n) : new Float32Array(n);
  buf.fill(1);
  const iters = iterationsFor(bytes, start.iters);
  for (let i = 0; i < warmupsFor(iters); i++) comm.allReduce(buf, 'sum');
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    comm.allReduce(buf, 'sum');
    times.push(performance.now() - t0);
  }
  if (start.localRank === 0) parentPort?.postMessage({ bytes, times });
}
