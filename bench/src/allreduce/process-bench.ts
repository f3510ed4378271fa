import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AllReduceAlgorithm } from '@tfjs-ddp/collective';
import type { ProcessBenchReport, ProcessBenchStart } from './process-worker.js';
import { summarize } from './result.js';
import type { BenchLine } from './result.js';
import { BenchError } from '../common/errors.js';

const WORKER = fileURLToPath(new URL('./process-worker.js', import.meta.url));

/** `ranks` processes over loopback TCP, one rank each. */
export async function benchProcesses(
  ranks: number,
  sizes: readonly number[],
  algorithm: AllReduceAlgorithm,
  segmentBytes: number | undefined,
  facade: boolean,
  zeroCopy: boolean,
  iters: number | undefined,
  emit: (line: BenchLine) => void
): Promise<void> {
  const children = Array.from({ length: ranks }, () => fork(WORKER, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const ports: number[] = [];
  const exits = children.map(
    (c) =>
      new Promise<void>((resolve, reject) =>
        c.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new BenchError('BENCH_ERR_CHILD_FAILED', `bench rank exited with ${code ?? signal}`))))
      )
  );
  const transport = facade ? 'processes-facade' : 'processes';
  // Per size: rank 0's call times and every rank's CPU per call (the facade reports times only).
  const reports = new Map<number, { times?: number[]; cpuMs: number[] }>();
  const collect = (m: ProcessBenchReport): void => {
    const r = reports.get(m.bytes) ?? { cpuMs: [] };
    reports.set(m.bytes, r);
    if (m.times) r.times = m.times;
    if (m.cpuMs !== undefined) r.cpuMs.push(m.cpuMs);
    if (r.times === undefined || (!facade && r.cpuMs.length < ranks)) return;
    reports.delete(m.bytes);
    const cpu = facade ? undefined : r.cpuMs.reduce((a, b) => a + b, 0);
    emit(summarize(transport, zeroCopy ? `${algorithm}+zero-copy` : algorithm, ranks, m.bytes, r.times, cpu));
  };
  await new Promise<void>((resolve) => {
    children.forEach((c, rank) => {
      c.on('message', (m: Partial<ProcessBenchReport> & { port?: number }) => {
        if (m.port !== undefined) {
          ports[rank] = m.port;
          if (ports.filter((p) => p !== undefined).length === ranks) resolve();
        } else if (m.bytes !== undefined && (m.times || m.cpuMs !== undefined)) {
          collect(m as ProcessBenchReport);
        }
      });
      const start: ProcessBenchStart = { rank, size: ranks, sizes, algorithm, segmentBytes, facade, zeroCopy, iters };
      c.send(start);
    });
  });
  const peers = ports.map((port, rank) => ({ rank, host: '127.0.0.1', port }));
  children.forEach((c) => c.send(peers));
  await Promise.all(exits);
}
