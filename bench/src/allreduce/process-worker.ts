/**
 * A rank process of the processes benchmark, driven over IPC by `process-bench.ts`.
 * Plain mode times the async API on this process's main thread; facade mode times what
 * a training rank thread sees: the blocking communicator of a one-thread hierarchical
 * group, whose process-level step runs on this main thread.
 */
import { Worker } from 'node:worker_threads';
import { ProcessGroupListener, allocReduceBuffer, createThreadGroup } from '@tfjs-ddp/collective';
import type { AllReduceAlgorithm, PeerAddress } from '@tfjs-ddp/collective';
import { iterationsFor, warmupsFor } from './options.js';
import type { ThreadBenchStart } from './thread-worker.js';

export interface ProcessBenchStart {
  readonly rank: number;
  readonly size: number;
  readonly sizes: readonly number[];
  readonly algorithm: AllReduceAlgorithm;
  /** Undefined: the library's default. */
  readonly segmentBytes: number | undefined;
  readonly facade: boolean;
  /** Buffers from allocReduceBuffer (in place) instead of plain Float32Arrays (staged). */
  readonly zeroCopy: boolean;
  readonly iters: number | undefined;
}

const next = <T>(): Promise<T> => new Promise((resolve) => process.once('message', (m) => resolve(m as T)));
const start = await next<ProcessBenchStart>();
const listener = await ProcessGroupListener.open({ host: '127.0.0.1', port: 0 });
process.send?.({ port: listener.port });
const peers = await next<PeerAddress[]>();
const pg = await listener.connect({
  rank: start.rank,
  size: start.size,
  peers,
  jobSecret: 'bench',
  opTimeoutMs: 120_000,
  algorithms: { algorithm: start.algorithm, ...(start.segmentBytes === undefined ? {} : { segmentBytes: start.segmentBytes }) }
});
/** Rank 0 reports the call times; every rank its CPU time per call (`BenchLine.cpu_ms_per_op`). */
export interface ProcessBenchReport {
  readonly bytes: number;
  readonly times?: number[];
  readonly cpuMs?: number;
}
const report = (m: ProcessBenchReport): void => {
  if (start.rank === 0 || m.cpuMs !== undefined) process.send?.(start.rank === 0 ? m : { bytes: m.bytes, cpuMs: m.cpuMs });
};

if (!start.facade) {
  for (const bytes of start.sizes) {
    const buf = start.zeroCopy ? allocReduceBuffer(bytes >>> 2) : new Float32Array(bytes >>> 2);
    buf.fill(1);
    const iters = iterationsFor(bytes, start.iters);
    for (let i = 0; i < warmupsFor(iters); i++) await pg.allReduce(buf, 'sum');
    const times: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      await pg.allReduce(buf, 'sum');
      times.push(performance.now() - t0);
    }
    const cpu = process.cpuUsage(cpu0);
    report({ bytes, times, cpuMs: (cpu.user + cpu.system) / 1000 / iters });
  }
} else {
  const group = createThreadGroup({ threads: 1, process: pg, slotBytes: Math.max(...start.sizes), opTimeoutMs: 120_000 });
  const threadStart: ThreadBenchStart = { handle: group.handle, localRank: 0, sizes: start.sizes, zeroCopy: false, iters: start.iters };
  const w = new Worker(new URL('./thread-worker.js', import.meta.url), { workerData: threadStart });
  w.on('message', report);
  await new Promise((resolve, reject) => {
    w.on('error', reject);
    w.on('exit', resolve);
  });
  group.close();
}
await pg.barrier();
await pg.close();
process.send?.({ done: true }, () => process.disconnect());
