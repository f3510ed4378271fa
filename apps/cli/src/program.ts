import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { PROTOCOL_VERSION } from '@tfjs-ddp/protocol';
import { benchCommand } from './commands/bench.js';
import { coordinatorCommand } from './commands/coordinator.js';
import { studyCommand } from './commands/study.js';
import { trainCommand } from './commands/train.js';
import { workerCommand } from './commands/worker.js';
import { TOKEN_ENV } from './job-token.js';

/** `tfjs-ddp --version`: this package's version and the wire protocol's (workers and coordinator must share it). */
export function versionLine(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return `${manifest.version} (protocol v${PROTOCOL_VERSION})`;
}

/** The whole `tfjs-ddp` command tree (main.ts runs it; tests read its options). */
export function buildProgram(): Command {
  const root = new Command('tfjs-ddp')
    .description('Distributed data-parallel training of TensorFlow.js models')
    .version(versionLine(), '-V, --version', 'print the version and the protocol version')
    .showHelpAfterError('(run with --help for every flag and its default)')
    .exitOverride();
  root.addCommand(trainCommand());
  root.addCommand(coordinatorCommand());
  root.addCommand(workerCommand());
  root.addCommand(studyCommand());
  root.addCommand(benchCommand());
  for (const command of allCommands(root)) {
    command.exitOverride().showHelpAfterError('(run with --help for every flag and its default)');
  }
  return root;
}

export function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

/** Every environment variable the CLI reads, by command path (e.g. "coordinator"). */
export function environmentVariables(): Map<string, string[]> {
  const result = new Map<string, string[]>();
  const walk = (command: Command, prefix: string): void => {
    const name = prefix === '' ? command.name() : `${prefix} ${command.name()}`;
    const vars = command.options.map((o) => o.envVar).filter((v): v is string => v !== undefined);
    // The token has no flag of its own (it would show in process lists): only --token-file or this.
    if (command.options.some((o) => o.long === '--token-file')) vars.push(TOKEN_ENV);
    if (vars.length > 0) result.set(name.replace(/^tfjs-ddp ?/, ''), vars);
    for (const sub of command.commands) walk(sub, name);
  };
  walk(buildProgram(), '');
  return result;
}
