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
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  return { child, output: () => output, exited, kill: (signal = 'SIGKILL') => child.kill(signal) };
}

/** Every weight of a saved model folder, in the order of its manifest (= the model's weights order). */
export function savedWeights(folder: string): Float32Array {
  const bytes = readFileSync(path.join(folder, 'weights.bin'));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
