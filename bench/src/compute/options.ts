// webgpu is not among them: this bench times the trainer's synchronous step, which webgpu
// cannot run in Node (no synchronous read-back); scripts/gpu-check.mjs times it instead.
import { AUTO_BACKENDS as BACKEND_NAMES, type BackendName } from '@tfjs-ddp/backend';
import { ZOO_MODEL_NAMES } from '@tfjs-ddp/nn';
import { BenchError } from '../common/errors.js';

export interface ComputeOptions {
  models: string[];
  /** Backends to try; those that do not load are reported as unavailable. */
  backends: BackendName[];
  batch: number;
  /** Batch and steps on the pure-JS cpu backend, which runs about 5 samples/s. */
  cpuBatch: number;
  cpuSteps: number;
  steps: number;
  warmup: number;
  /** Alternations of ours and PyTorch's measurement, so both see the same machine load. */
  rounds: number;
  vsPytorch: boolean;
  python: string;
  profile: boolean;
  /** Also measure what batch norm costs in the step, and on the per-channel kernels. */
  bnCost: boolean;
}

export const USAGE = `usage: node bench/dist/compute/main.js [options]
  --models a,b        zoo models (default: ${ZOO_MODEL_NAMES.join(',')})
  --backends a,b      backends to try (default: ${BACKEND_NAMES.join(',')})
  --batch N           samples per step (default 64)
  --steps N           measured steps per round (default 10)
  --warmup N          unmeasured steps first (default 3)
  --rounds N          alternations of ours and PyTorch's run (default 4)
  --cpu-batch N       batch on the cpu backend (default 8)
  --cpu-steps N       measured steps on the cpu backend (default 2)
  --vs pytorch        also time the same models in PyTorch on one thread
  --python PATH       python with torch (default $TFJS_DDP_PYTHON or /usr/bin/python3)
  --profile           also print the time by kernel of one training step
  --bn-cost           also measure batch norm's share of the step (wasm), and the
                      same BN layers on @tfjs-ddp/backend's per-channel BN ops
Prints JSON lines.`;

function positiveInt(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new BenchError('BENCH_ERR_USAGE', `${flag} needs a positive integer, got ${value}`);
  return n;
}

export function parseOptions(argv: readonly string[]): ComputeOptions {
  const options: ComputeOptions = {
    models: [...ZOO_MODEL_NAMES],
    backends: [...BACKEND_NAMES],
    batch: 64,
    cpuBatch: 8,
    cpuSteps: 2,
    steps: 10,
    warmup: 3,
    rounds: 4,
    vsPytorch: false,
    python: process.env['TFJS_DDP_PYTHON'] ?? '/usr/bin/python3',
    profile: false,
    bnCost: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    switch (flag) {
      case '--models':
        options.models = (value ?? '').split(',').filter((m) => m !== '');
        i++;
        break;
      case '--backends': {
        const names = (value ?? '').split(',');
        for (const name of names) {
          if (!(BACKEND_NAMES as readonly string[]).includes(name)) throw new BenchError('BENCH_ERR_USAGE', `unknown backend ${name}`);
        }
        options.backends = names as BackendName[];
        i++;
        break;
      }
      case '--batch': options.batch = positiveInt(flag, value); i++; break;
      case '--steps': options.steps = positiveInt(flag, value); i++; break;
      case '--warmup': options.warmup = positiveInt(flag, value); i++; break;
      case '--rounds': options.rounds = positiveInt(flag, value); i++; break;
      case '--cpu-batch': options.cpuBatch = positiveInt(flag, value); i++; break;
      case '--cpu-steps': options.cpuSteps = positiveInt(flag, value); i++; break;
      case '--python': options.python = value ?? options.python; i++; break;
      case '--vs':
        if (value !== 'pytorch') throw new BenchError('BENCH_ERR_USAGE', `--vs takes "pytorch", got ${value}`);
        options.vsPytorch = true;
        i++;
        break;
      case '--profile': options.profile = true; break;
      case '--bn-cost': options.bnCost = true; break;
      case '--help': case '-h':
        throw new BenchError('BENCH_ERR_USAGE', USAGE);
      default:
        throw new BenchError('BENCH_ERR_USAGE', `unknown option ${flag}\n${USAGE}`);
    }
  }
  return options;
}
