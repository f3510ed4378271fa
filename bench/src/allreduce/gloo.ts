import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchLine } from './result.js';
import { BenchError } from '../common/errors.js';

// bench/dist/allreduce/gloo.js -> bench/peers/gloo_allreduce.py
const SCRIPT = fileURLToPath(new URL('../../peers/gloo_allreduce.py', import.meta.url));

/** Runs torch.distributed gloo over loopback with the same ranks and sizes; its lines are relayed as they come. */
export function benchGloo(python: string, ranks: readonly number[], sizes: readonly number[], emit: (line: BenchLine) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(python, [SCRIPT, '--ranks', ranks.join(','), '--sizes', sizes.join(',')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) emit(JSON.parse(line) as BenchLine);
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new BenchError('BENCH_ERR_CHILD_FAILED', `gloo benchmark exited with ${code}`))));
  });
}
