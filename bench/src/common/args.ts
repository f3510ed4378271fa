import { BenchError } from './errors.js';

/** Tiny flag parsing for the benchmarks: `--name value` pairs, lists as `a,b,c`. */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new BenchError('BENCH_ERR_USAGE', `unexpected argument "${arg}"`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) flags.set(arg.slice(2), 'true');
    else {
      flags.set(arg.slice(2), next);
      i++;
    }
  }
  return flags;
}

export function intList(text: string): number[] {
  return text.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new BenchError('BENCH_ERR_USAGE', `expected positive integers, got "${text}"`);
    return n;
  });
}

/** Prints one JSON line on stdout: the benchmarks' machine-readable output. */
export function emit(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}
