#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { trainCommand } from './commands/train.js';

/** Exit codes: 0 done, 1 the job failed, 2 bad usage (unknown flag, bad value). */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

function program(): Command {
  const root = new Command('tfjs-ddp')
    .description('Distributed data-parallel training of TensorFlow.js models')
    .showHelpAfterError('(run with --help for every flag and its default)')
    .exitOverride();
  root.addCommand(trainCommand());
  for (const command of root.commands) {
    command.exitOverride().showHelpAfterError('(run with --help for every flag and its default)');
  }
  return root;
}

async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every parsing error has already been printed by commander.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    const code = (error as { code?: unknown }).code;
    process.stderr.write(`tfjs-ddp: ${(error as Error).message}${typeof code === 'string' ? ` [${code}]` : ''}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}

await main(process.argv);
