import { readFileSync } from 'node:fs';
import { CliError } from './errors.js';

/** The job token's environment variable (the alternative to --token-file). */
export const TOKEN_ENV = 'TFJS_DDP_TOKEN';

/**
 * The job token from a file (its first line, trimmed) or, failing that, a value (e.g.
 * TFJS_DDP_TOKEN). Never logged. Throws a message that names the file but not the content.
 * It lives in the CLI (it was the coordinator's) because both `coordinator` and `worker`
 * read it, and a worker must not load the coordinator package.
 */
export function readToken(options: { file?: string; value?: string }): string {
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (cause) {
      const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
      throw new CliError('CLI_ERR_TOKEN', `cannot read the token file ${options.file}: ${reason}`, { cause });
    }
    const token = text.split('\n')[0]?.trim() ?? '';
    if (token.length === 0) throw new CliError('CLI_ERR_TOKEN', `the token file ${options.file} is empty`);
    return token;
  }
  if (options.value !== undefined && options.value.length > 0) return options.value;
  throw new CliError('CLI_ERR_TOKEN', `no job token: give --token-file or set ${TOKEN_ENV}`);
}
