import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * One job of bench/network, run inside the first host's namespace (main.ts starts it with
 * `ip netns exec`): the coordinator CLI and worker 1 here, worker 2 on the second host,
 * /status polled for the workers' network figures, samples/s from metrics.jsonl. Prints
 * one JSON line (a `JobRun`) and exits.
 */
export interface JobSpec {
  readonly cli: string;
  readonly dir: string;
  /** This host's address (the coordinator's) and the second host's namespace. */
  readonly host: string;
  readonly worker2Ns: string;
  /** What each worker advertises to its ring peer (a delay proxy's address, or its own). */
  readonly advertise: readonly [string, string];
  readonly peerPorts: readonly [number, number];
  readonly model: string;
  readonly globalBatch: number;
  readonly steps: number;
  readonly warmup: number;
  /** Extra coordinator flags of this variant (e.g. --compress bf16). */
  readonly jobFlags: readonly string[];
  readonly timeoutMs: number;
}

export interface WorkerNetwork {
  id: string;
  sentBytesPerStep: number;
  payloadBytesPerStep: number;
  linkBitsPerSec: number | null;
  networkFraction: number | null;
}

export interface JobRun {
  ok: boolean;
  error?: string;
  samplesPerSec: number;
  workers: WorkerNetwork[];
  /** Whether the coordinator logged its network-bound warning. */
  networkWarning: boolean;
}

const PORT = 7170;

async function main(spec: JobSpec): Promise<JobRun> {
  const token = path.join(spec.dir, 'token');
  writeFileSync(token, 'bench-network\n');
  const out = path.join(spec.dir, 'out');
  const node = process.execPath;
  const coordinatorArgs = [
    spec.cli, 'coordinator', '--port', String(PORT), '--host', '0.0.0.0', '--workers', '2', '--token-file', token, '--model', spec.model, '--dataset', 'mnist',
    '--global-batch', String(spec.globalBatch), '--max-steps', String(spec.steps), '--epochs', '100', '--data-source', 'local', '--out', out,
    '--bn-recalibrate', 'off', '--log-level', 'warn', '--no-progress', ...spec.jobFlags,
  ];
  const worker = (i: 0 | 1): string[] => [
    spec.cli, 'worker', '--coordinator', `ws://${spec.host}:${PORT}`, '--token-file', token, '--threads', '1', '--backend', 'wasm',
    '--advertise-host', spec.advertise[i], '--peer-port', String(spec.peerPorts[i]), '--log-level', 'warn', '--no-progress',
  ];
  const children: ChildProcess[] = [];
  let coordinatorLog = '';
  const start = (cmd: string, args: string[], keepLog = false): ChildProcess => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const take = (chunk: Buffer): void => {
      // Only the last 64 KB: a chatty process must not grow this without bound.
      if (keepLog) coordinatorLog = (coordinatorLog + chunk.toString()).slice(-65536);
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    return child;
  };
  const coordinator = start(node, coordinatorArgs, true);
  const exited = new Promise<number>((resolve) => coordinator.once('exit', (code) => resolve(code ?? 1)));
  start(node, worker(0));
  start('ip', ['netns', 'exec', spec.worker2Ns, node, ...worker(1)]);
  let workers: WorkerNetwork[] = [];
  let done = false;
  let pollError = '';
  const deadline = setTimeout(() => coordinator.kill('SIGTERM'), spec.timeoutMs);
  const poll = (async () => {
    while (!done) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      try {
        const status = (await (await fetch(`http://127.0.0.1:${PORT}/status`, { signal: AbortSignal.timeout(2000) })).json()) as {
          workers: ({ id: string; network: WorkerNetwork | null })[];
        };
        const seen = status.workers.flatMap((w) => (w.network === null ? [] : [{ ...w.network, id: w.id }]));
        if (seen.length > 0) workers = seen;
      } catch (error) {
        // Not up yet, or gone: the next poll (or the end) tells.
        pollError = (error as Error).message;
      }
    }
  })();
  const code = await exited;
  done = true;
  clearTimeout(deadline);
  await poll;
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  const networkWarning = /network bounds the step/.test(coordinatorLog);
  if (code !== 0) {
    const error = `coordinator exited ${code} (last poll: ${pollError}): ${coordinatorLog.slice(-800)}`;
    return { ok: false, error, samplesPerSec: 0, workers, networkWarning };
  }
  return { ok: true, samplesPerSec: steadyRate(path.join(out, 'metrics.jsonl'), spec.warmup), workers, networkWarning };
}

/** Samples/s between the end of the warm-up step and the last step, from metrics.jsonl's step records. */
function steadyRate(file: string, warmup: number): number {
  const records = readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  const steps = records.map((l) => JSON.parse(l) as { kind: string; step: number; time: string; samples: number }).filter((r) => r.kind === 'step');
  const from = steps.find((r) => r.step === warmup);
  const to = steps.at(-1);
  if (from === undefined || to === undefined || to.step <= from.step) return 0;
  // `samples` counts the run's samples so far.
  return (to.samples - from.samples) / ((Date.parse(to.time) - Date.parse(from.time)) / 1000);
}

const spec = JSON.parse(process.argv[2] ?? '{}') as JobSpec;
process.stdout.write(`${JSON.stringify(await main(spec))}\n`);
