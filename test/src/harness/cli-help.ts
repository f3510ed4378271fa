import { execFileSync } from 'node:child_process';
import { CLI } from './processes.js';

/** One option of a `tfjs-ddp` subcommand, as its `--help` prints it. */
export interface CliOption {
  /** The long flag, e.g. `--port`. */
  flag: string;
  /** Whether it takes a value (`--port <n>`), as opposed to a switch (`--no-progress`). */
  takesValue: boolean;
  /** The environment variable commander reads it from, if any. */
  env?: string;
  /** The default commander prints, unquoted (`7070`, `0.0.0.0`), if any. */
  defaultValue?: string;
}

export interface CliHelp {
  options: CliOption[];
  /**
   * Every TFJS_DDP_* variable the command reads: those of its options, and those its help
   * names in prose (TFJS_DDP_TOKEN, which has no flag so that it never shows in a process list).
   */
  envVars: Set<string>;
  option(flag: string): CliOption | undefined;
}

const cache = new Map<string, CliHelp>();

/**
 * The options of `tfjs-ddp <command>`, read from the built CLI's own `--help` (not a copy
 * kept here, so a flag added or renamed in the CLI is seen by the deploy tests).
 */
export function cliHelp(command: string): CliHelp {
  const cached = cache.get(command);
  if (cached !== undefined) return cached;
  // A clean environment: a TFJS_DDP_* variable of this shell would show up as a default.
  const text = execFileSync(process.execPath, [CLI, command, '--help'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' }, timeout: 30_000 });
  const help = parseHelp(text);
  cache.set(command, help);
  return help;
}

/** Parses commander's help: an entry starts with `  --flag` or `  -x, --flag` and runs until the next. */
export function parseHelp(text: string): CliHelp {
  const entries: string[] = [];
  for (const line of text.split('\n')) {
    if (/^ {2}(-\w, )?--[\w-]+/.test(line)) entries.push(line.trim());
    else if (entries.length > 0 && /^ {3,}\S/.test(line)) entries[entries.length - 1] += ` ${line.trim()}`;
  }
  const options = entries.map((entry): CliOption => {
    const head = /^(?:-\w, )?(--[\w-]+)( <[^>]+>| \[[^\]]+\])?/.exec(entry);
    if (head === null) throw new Error(`cannot read the help entry "${entry}"`);
    const env = /\benv: (TFJS_DDP_[A-Z0-9_]+)\)/.exec(entry)?.[1];
    // commander prints a default and the variable together, "(default: 7070, env: TFJS_DDP_PORT)";
    // a "(default: ...)" alone is the description's prose ("one per core").
    const printed = /\(default: ("[^"]*"|[^,()]+), env: TFJS_DDP_[A-Z0-9_]+\)/.exec(entry)?.[1];
    const defaultValue = printed?.replace(/^"(.*)"$/, '$1');
    return { flag: head[1] as string, takesValue: head[2] !== undefined, env, defaultValue };
  });
  const envVars = new Set([...text.matchAll(/\bTFJS_DDP_[A-Z0-9_]+/g)].map((m) => m[0]));
  return { options, envVars, option: (flag) => options.find((o) => o.flag === flag) };
}
