import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI entry point. */
export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps/cli/dist/main.js');

export interface RunningProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (null if killed by a signal). */
  exited: Promise<number | null>;
  /** When it exited (Date.now()); undefined while it runs. */
  exitedAt(): number | undefined;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts a real `tfjs-ddp` process (node + the CLI), collecting its output; killed with
 * SIGKILL after `timeoutMs` so no test can hang on it.
 */
export function startCli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number; command?: string[] } = {}): RunningProcess {
  const command = options.command ?? [process.execPath, CLI];
  const [program, ...prefix] = command as [string, ...string[]];
  const child = spawn(program, [...prefix, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return watchProcess(child, options.timeoutMs ?? 180_000);
}

/** Collects a spawned process's output and exit; SIGKILL after `timeoutMs` so no test can hang on it. */
export function watchProcess(child: ChildProcess, timeoutMs: number): RunningProcess {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let exitedAt: number | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      exitedAt = Date.now();
      clearTimeout(timer);
      resolve(code);
    });
  });
  return { child, output: () => output, exited, exitedAt: () => exitedAt, kill: (signal = 'SIGKILL') => child.kill(signal) };
}

/**
 * The exit code of a process that must end within `ms` of `since` (a failure it was told
 * of, a signal): rejects naming it, with its last output, if it is still running then
 * (it is then killed, so no test leaves it behind), or if only the CLI's exit watchdog
 * ended it (something was left open). Logs the measured exit time.
 */
export async function exitsWithin(p: RunningProcess, name: string, since: number, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, since + ms - Date.now()))));
  const code = await Promise.race([p.exited, late]);
  clearTimeout(timer);
  if (code === 'late') {
    p.kill();
    throw new Error(`${name} was still running ${ms} ms after it should have ended:\n${p.output().slice(-3000)}`);
  }
  const held = /still running [\d.]+ s after the command ended \(open: [^)]*\)/.exec(p.output());
  if (held !== null) throw new Error(`${name} was ended by the exit watchdog: ${held[0]}`);
  console.log(`# ${name} exited ${code ?? p.child.signalCode} after ${(p.exitedAt() ?? Date.now()) - since} ms (allowed ${ms} ms)`);
  return code;
}

/** Every weight of a saved model folder, in the order of its manifest (= the model's weights order). */
export function savedWeights(folder: string): Float32Array {
  const bytes = readFileSync(path.join(folder, 'weights.bin'));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
