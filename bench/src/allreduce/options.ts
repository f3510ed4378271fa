import { BenchError } from '../common/errors.js';
/**
 * Flags of `bench/dist/allreduce/main.js` (the CLI's `tfjs-ddp bench allreduce` passes
 * them through):
 *
 *   --ranks 2,4                  group sizes
 *   --sizes 4KB..64MB            a range (x4 steps) or a list: 4KB,1MB,16MB
 *   --transport threads,processes[,processes-facade]
 *   --algorithm auto             processes: auto | ring | recursive-doubling (lists allowed)
 *   --segment 4MB                ring pipelining unit (default: the library's, AlgorithmOptions.segmentBytes)
 *   --vs gloo                    also run torch.distributed gloo (bench/peers/gloo_allreduce.py)
 *   --python /usr/bin/python3    interpreter for --vs gloo
 *   --iters N                    override the per-size iteration count
 */
export type Transport = 'threads' | 'processes' | 'processes-facade';
export const TRANSPORTS: readonly Transport[] = ['threads', 'processes', 'processes-facade'];

export interface BenchOptions {
  readonly ranks: readonly number[];
  readonly sizes: readonly number[];
  readonly transports: readonly Transport[];
  readonly algorithms: readonly string[];
  /** Undefined: the library's default. */
  readonly segmentBytes: number | undefined;
  readonly vsGloo: boolean;
  readonly python: string;
  readonly iters: number | undefined;
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 * 1024, GB: 1024 * 1024 * 1024 };

export function parseBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?$/i.exec(text.trim());
  if (!m) throw new BenchError('BENCH_ERR_USAGE', `not a size: ${text}`);
  return Math.round(Number(m[1]) * (UNITS[(m[2] ?? 'B').toUpperCase()] ?? 1));
}

export function parseSizes(text: string): number[] {
  const range = text.split('..');
  if (range.length === 2) {
    const [lo, hi] = range.map(parseBytes) as [number, number];
    const out: number[] = [];
    for (let s = lo; s <= hi; s *= 4) out.push(s);
    return out;
  }
  return text.split(',').map(parseBytes);
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new BenchError('BENCH_ERR_USAGE', `unexpected argument ${a}`);
    const [key, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (inline !== undefined) flags.set(key, inline);
    else if (key === 'json') flags.set(key, 'true');
    else flags.set(key, argv[++i] ?? '');
  }
  const transports = (flags.get('transport') ?? 'threads,processes').split(',') as Transport[];
  for (const t of transports) if (!TRANSPORTS.includes(t)) throw new BenchError('BENCH_ERR_USAGE', `unknown transport ${t}`);
  return {
    ranks: (flags.get('ranks') ?? '2,4').split(',').map(Number),
    sizes: parseSizes(flags.get('sizes') ?? '4KB..64MB'),
    transports,
    algorithms: (flags.get('algorithm') ?? 'auto').split(','),
    segmentBytes: flags.has('segment') ? parseBytes(flags.get('segment') ?? '') : undefined,
    vsGloo: (flags.get('vs') ?? '') === 'gloo',
    python: flags.get('python') ?? '/usr/bin/python3',
    iters: flags.has('iters') ? Number(flags.get('iters')) : undefined
  };
}

/** Calls per size: enough for a stable median, bounded in time (same rule as the gloo script). */
export function iterationsFor(bytes: number, override?: number): number {
  return override ?? Math.max(20, Math.min(200, Math.floor((512 * 1024 * 1024) / Math.max(bytes, 1))));
}

/** Untimed calls first: JavaScript needs its hot paths compiled (gloo gets the same). */
export function warmupsFor(iterations: number): number {
  return Math.max(5, Math.floor(iterations / 5));
}
