import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Argument, Command } from 'commander';
import { CliError } from '../errors.js';

export const BENCHMARKS = ['compute', 'allreduce', 'scaling', 'multiprocess', 'overlap', 'network', 'compress', 'input-path'] as const;

/** The benchmarks are built into bench/dist of the source tree, beside apps/cli; an image without them says so. */
const BENCH_DIST = fileURLToPath(new URL('../../../../bench/dist/', import.meta.url));

/** `tfjs-ddp bench <name> [flags]`: runs bench/<name> in its own process; its JSON lines go to stdout. */
export function benchCommand(): Command {
  return new Command('bench')
    .description(
      "run a benchmark of bench/ (JSON lines on stdout); flags after the name are the benchmark's own," +
        ' e.g. `tfjs-ddp bench allreduce --vs gloo` or `tfjs-ddp bench compute --vs pytorch`',
    )
    .addArgument(new Argument('<name>', 'the benchmark').choices(BENCHMARKS))
    .argument('[flags...]', "the benchmark's flags (see the comment at the top of bench/src/<name>/main.ts)")
    .allowUnknownOption()
    .action(async (name: string, flags: string[]) => {
      const main = path.join(BENCH_DIST, name, 'main.js');
      if (!existsSync(main)) {
        const hint = 'the benchmarks live in the source tree (run `npm run build` in a clone)';
        throw new CliError('CLI_ERR_NO_BENCH', `no built benchmark at ${main}: ${hint}`);
      }
      process.exitCode = await new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, [main, ...flags], { stdio: 'inherit' });
        child.once('error', reject);
        child.once('exit', (code) => resolve(code ?? 1));
      });
    });
}
