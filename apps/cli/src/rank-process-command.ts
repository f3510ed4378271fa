import { fileURLToPath } from 'node:url';
import { TOKEN_ENV } from './job-token.js';

/** The CLI's own entry: a rank process is this CLI's `worker` command with one rank thread. */
const CLI_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** The program and arguments of a rank process: this node (with its flags), this CLI, `worker`, `args`. */
export function rankProcessCommand(args: readonly string[]): string[] {
  return [process.execPath, ...process.execArgv, CLI_MAIN, 'worker', ...args];
}

/**
 * The environment of the rank processes `train --procs` starts: this one's without the
 * TFJS_DDP_* settings, which were the launcher's (a TFJS_DDP_TOKEN_FILE would override the
 * generated token, a TFJS_DDP_THREADS the one thread), with the job's token. Test hooks
 * (TFJS_DDP_TEST_*) pass through: the tests plant them in rank processes this way.
 */
export function trainRankEnv(token: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const kept = Object.entries(env).filter(([name]) => !name.startsWith('TFJS_DDP_') || name.startsWith('TFJS_DDP_TEST_'));
  return { ...Object.fromEntries(kept), [TOKEN_ENV]: token };
}

/**
 * The arguments of `worker --procs N`'s rank processes: the launcher's own, as the user
 * wrote them (so every flag, file and value reaches them unchanged), without the options
 * only the launcher may have; the caller appends one thread and each process's peer port.
 */
export function withoutOptions(args: readonly string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (names.includes(arg)) {
      i++; // its value
      continue;
    }
    if (names.some((name) => arg.startsWith(`${name}=`))) continue;
    out.push(arg);
  }
  return out;
}
