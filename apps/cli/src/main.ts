#!/usr/bin/env node
import { CommanderError } from 'commander';
import { exitWithin } from './exit-watchdog.js';
import { buildProgram } from './program.js';

/** Exit codes: 0 done, 1 the job failed, 2 bad usage (unknown flag, bad value). */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/** The code of the innermost cause that has one: the root cause, e.g. a rank's model-file error. */
function rootCode(error: unknown): string | undefined {
  let code: string | undefined;
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const own = (e as { code?: unknown }).code;
    if (typeof own === 'string') code = own;
  }
  return code;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every parsing error has already been printed by commander.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    const code = rootCode(error);
    process.stderr.write(`tfjs-ddp: ${(error as Error).message}${code === undefined ? '' : ` [${code}]`}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}

await main(process.argv);
exitWithin(Number(process.exitCode ?? 0));
