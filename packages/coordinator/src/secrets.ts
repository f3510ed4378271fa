import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Compares a presented token with the job's in constant time. Both are hashed first, so
 * neither the content nor the length of the secret leaks through timing.
 */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** A fresh random secret (hex), e.g. the one ring peers use to authenticate each other. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * The job token from a file (its first line, trimmed) or, failing that, a value (e.g.
 * TFJS_DDP_TOKEN). Never logged. Throws a message that names the file but not the content.
 */
export function readToken(options: { file?: string; value?: string }): string {
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (cause) {
      throw new Error(`cannot read the token file ${options.file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
    }
    const token = text.split('\n')[0]?.trim() ?? '';
    if (token.length === 0) throw new Error(`the token file ${options.file} is empty`);
    return token;
  }
  if (options.value !== undefined && options.value.length > 0) return options.value;
  throw new Error('no job token: give --token-file or set TFJS_DDP_TOKEN');
}
