import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { startCli, type RunningProcess } from './processes.js';

/**
 * A whole job of real processes: the CLI coordinator and CLI workers on loopback, as a
 * user starts them. Tests that disturb a job (fuzz, intruders) compare its model with
 * the model of the same job undisturbed, so both are run by the same code here.
 */
export interface CliJobOptions {
  readonly outDir: string;
  readonly tokenFile: string;
  readonly workers: number;
  /** The job's flags (model, data set, batch, steps, seed, ...). */
  readonly jobArgs: readonly string[];
  readonly jobId: string;
  /** Extra flags for worker i (e.g. a fixed --peer-port). */
  readonly workerArgs?: (i: number) => readonly string[];
  readonly timeoutMs?: number;
  /** The coordinator's log level; default warn (refusals are warnings: a fuzz run wants error). */
  readonly logLevel?: 'error' | 'warn' | 'info';
}

export interface CliJob {
  readonly port: number;
  readonly coordinator: RunningProcess;
  readonly workers: RunningProcess[];
  /** Starts worker i (workers are started by the caller so it can choose when). */
  startWorker(i: number): RunningProcess;
  /** Resolves when the coordinator exits; rejects with every process's output if any exit is not 0. */
  finished(): Promise<void>;
  kill(): void;
}

/** A port that was free a moment ago (the coordinator is told it, so nothing has to parse its log). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Polls /healthz until the coordinator answers (it loads its data set before it listens). */
export async function waitForHealth(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the coordinator on port ${port} did not answer /healthz within ${timeoutMs} ms (${last})`);
}

/** Polls `ready` every 20 ms until it is true (a throw counts as not yet); fails naming `what` after `timeoutMs`. */
export async function until(what: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The job's state as /status reports it. */
export async function jobState(port: number): Promise<{ state: string; step: number; totalSteps: number; workers: number }> {
  const response = await fetch(`http://127.0.0.1:${port}/status`);
  const body = (await response.json()) as { job: { state: string }; step: number; totalSteps: number; workers: unknown[] };
  return { state: body.job.state, step: body.step, totalSteps: body.totalSteps, workers: body.workers.length };
}

export async function startCliJob(options: CliJobOptions): Promise<CliJob> {
  const port = await freePort();
  const timeoutMs = options.timeoutMs ?? 120_000;
  const coordinator = startCli(
    ['coordinator', '--port', String(port), '--host', '127.0.0.1', '--workers', String(options.workers), '--token-file', options.tokenFile, '--job-id', options.jobId, '--out', options.outDir, '--log-level', options.logLevel ?? 'warn', '--no-progress',
      // The pacer pauses a worker for seconds at a time: that is not a lost worker here.
      '--heartbeat-timeout', '600', ...options.jobArgs],
    { timeoutMs },
  );
  const workers: RunningProcess[] = [];
  const all = (): RunningProcess[] => [coordinator, ...workers];
  const outputs = (): string => all().map((p, i) => `--- ${i === 0 ? 'coordinator' : `worker ${i - 1}`} ---\n${p.output().slice(-4000)}`).join('\n');
  try {
    await waitForHealth(port);
  } catch (err) {
    coordinator.kill();
    throw new Error(`${(err as Error).message}\n${outputs()}`);
  }
  return {
    port,
    coordinator,
    workers,
    startWorker: (i) => {
      const worker = startCli(
        ['worker', '--coordinator', `ws://127.0.0.1:${port}`, '--token-file', options.tokenFile, '--threads', '1', '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--backend', 'wasm', '--log-level', 'warn', '--coordinator-timeout', '600', ...(options.workerArgs?.(i) ?? [])],
        { timeoutMs },
      );
      workers[i] = worker;
      return worker;
    },
    finished: async () => {
      const codes = await Promise.all(all().map((p) => p.exited));
      if (codes.some((c) => c !== 0)) throw new Error(`the job did not finish cleanly: exit codes ${JSON.stringify(codes)} (coordinator, workers)\n${outputs()}`);
    },
    kill: () => all().forEach((p) => p.kill()),
  };
}

/** The job's model weights, as bytes (compared bit for bit). */
export function modelBytes(outDir: string): Buffer {
  return readFileSync(path.join(outDir, 'weights.bin'));
}
