import { spawn, type ChildProcess } from 'node:child_process';
import { SILENT_LOG, type StructuredLog } from '@tfjs-ddp/protocol';
import { CUDA_DEVICES_ENV, GPU_INDEX_ENV, pinnedDeviceEnv } from './device-pinning.js';
import { WorkerError } from './errors.js';

export interface RankProcessesOptions {
  /** Program and arguments of the rank processes (node, the CLI, `worker`, its flags), or of process i. */
  command: readonly string[] | ((index: number) => readonly string[]);
  count: number;
  /** Environment every process starts from (secrets such as the job token go here, not in argv). Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** After SIGTERM, how long a process gets to exit before SIGKILL. Default 5 s. */
  killGraceMs?: number;
  /** How long the others get to exit after the first exit 0. Default 60 s. */
  finishGraceMs?: number;
  log?: StructuredLog;
}

/**
 * Set by the launcher in rank process i to i; sent with its join, so the coordinator
 * gives process i (pinned to device i) this host's i-th ranks whatever order they joined in.
 */
export const LAUNCH_INDEX_ENV = 'TFJS_DDP_LAUNCH_INDEX';

interface Launched {
  index: number;
  child: ChildProcess;
  device: string;
  exit: Promise<void>;
  code: number | null;
  signal: NodeJS.Signals | null;
  exited: boolean;
}

/**
 * N rank processes on this machine, process i pinned to device i (see device-pinning.ts).
 * They share this process's stdout and stderr (their log lines go where the user looks)
 * and an IPC channel whose only job is to close when this process dies, however it dies:
 * a worker started with one exits then (run-worker.ts), so no rank outlives its launcher.
 * A worker exits 0 only once the coordinator has told it the job is done, so the first
 * exit 0 means the job has ended: the others get `finishGraceMs` to follow. `failed`
 * rejects at the first process that exits otherwise (non-zero, a signal), naming it.
 */
export class RankProcesses {
  private readonly launched: Launched[] = [];
  private expecting = false;
  private closing: Promise<void> | undefined;
  private rejectFailed: (error: WorkerError) => void = () => undefined;
  /** Never resolves; rejects with WORKER_ERR_RANK_EXITED when a rank process exits unasked. */
  readonly failed: Promise<never>;
  /** Resolves once every process has exited (whatever their codes). */
  readonly allExited: Promise<void>;

  constructor(private readonly options: RankProcessesOptions) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    // Whoever awaits it sees the rejection; one that never does must not crash the process.
    this.failed.catch(() => undefined);
    const base = options.env ?? process.env;
    // Decided for all before any starts: a bad CUDA_VISIBLE_DEVICES refuses the launch whole.
    const envs = Array.from({ length: options.count }, (_, i) => pinnedDeviceEnv(i, options.count, base));
    envs.forEach((pinned, index) => {
      const [program, ...args] = (typeof options.command === 'function' ? options.command(index) : options.command) as [string, ...string[]];
      const child = spawn(program, args, { env: { ...base, ...pinned, [LAUNCH_INDEX_ENV]: String(index) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const entry: Launched = { index, child, device: describeDevice(pinned), exit: Promise.resolve(), code: null, signal: null, exited: false };
      entry.exit = new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          Object.assign(entry, { code, signal, exited: true });
          resolve();
          if (code === 0 && !this.expecting) this.finishing();
          else if ((code !== 0 || !this.expecting) && this.closing === undefined) this.rejectFailed(this.exitError(entry));
        });
        // A program that cannot be started at all is reported like one that exited at once.
        child.once('error', (error) => {
          if (entry.exited) return;
          Object.assign(entry, { exited: true });
          resolve();
          this.rejectFailed(new WorkerError('WORKER_ERR_RANK_EXITED', `rank process ${index} could not start: ${error.message}`, { cause: error }));
        });
      });
      this.launched.push(entry);
      const fields = { rankProcess: index, pid: child.pid, device: entry.device };
      (options.log ?? SILENT_LOG).info(fields, `rank process ${index} (pid ${child.pid}): ${entry.device}`);
    });
    this.allExited = Promise.all(this.launched.map((l) => l.exit)).then(() => undefined);
  }

  /** The first process ended the job well: the others must follow within the grace. */
  private finishing(): void {
    this.expecting = true;
    const grace = this.options.finishGraceMs ?? 60_000;
    const timer = setTimeout(() => {
      const running = this.running().join(', ');
      const message = `rank process(es) ${running} still running ${Math.round(grace / 1000)} s after another ended the job`;
      this.rejectFailed(new WorkerError('WORKER_ERR_RANK_EXITED', message));
    }, grace);
    void this.allExited.then(() => clearTimeout(timer));
  }

  /** From now on, exits are the end of the job, not a failure. */
  expectExit(): void {
    this.expecting = true;
  }

  /**
   * Waits for every process to exit by itself (the job is done) within `timeoutMs`; one
   * that exits non-zero, or is still running then, is an error (the others are stopped).
   */
  async waitForExit(timeoutMs: number): Promise<void> {
    this.expectExit();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const outcome = await Promise.race([this.allExited, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      const running = this.running().join(', ');
      await this.close();
      const message = `rank process(es) ${running} still running ${Math.round(timeoutMs / 1000)} s after the job ended; stopped`;
      throw new WorkerError('WORKER_ERR_RANK_EXITED', message);
    }
    const bad = this.launched.find((l) => l.code !== 0);
    if (bad !== undefined) throw this.exitError(bad);
  }

  /** Stops every process still running: SIGTERM, SIGKILL after the grace; resolves once all have exited. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const running = this.launched.filter((l) => !l.exited);
      for (const l of running) l.child.kill('SIGTERM');
      const grace = setTimeout(() => running.forEach((l) => l.exited || l.child.kill('SIGKILL')), this.options.killGraceMs ?? 5_000);
      await Promise.all(running.map((l) => l.exit));
      clearTimeout(grace);
    })();
    return this.closing;
  }

  private running(): string[] {
    return this.launched.filter((l) => !l.exited).map((l) => `${l.index} (pid ${l.child.pid})`);
  }

  private exitError(l: Launched): WorkerError {
    const how = l.signal !== null ? `was killed by ${l.signal}` : `exited with code ${l.code}`;
    return new WorkerError('WORKER_ERR_RANK_EXITED', `rank process ${l.index} (pid ${l.child.pid}, ${l.device}) ${how}`, { rank: l.index });
  }
}

function describeDevice(pinned: Record<string, string>): string {
  const gpu = pinned[GPU_INDEX_ENV];
  return `${CUDA_DEVICES_ENV}=${pinned[CUDA_DEVICES_ENV] ?? ''}${gpu === undefined ? '' : ` ${GPU_INDEX_ENV}=${gpu}`}`;
}
