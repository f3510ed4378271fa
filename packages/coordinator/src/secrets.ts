import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented token with the job's in constant time. Both are hashed first, so
 * neither the content nor the length of the secret leaks through timing.
 */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The header a worker may carry its token in instead of `authorization: Bearer <token>`. */
export const TOKEN_HEADER = 'x-tfjs-ddp-token';

/**
 * The job token a WebSocket upgrade presents: `authorization: Bearer <token>` or
 * `x-tfjs-ddp-token: <token>`; undefined when neither is there (or they are too long to
 * be a token: nothing longer is hashed).
 */
export function presentedToken(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const auth = headers['authorization'];
  const bearer = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
  const direct = headers[TOKEN_HEADER];
  const token = bearer ?? (typeof direct === 'string' ? direct.trim() : undefined);
  return token !== undefined && token.length > 0 && token.length <= 4096 ? token : undefined;
}

/** A fresh random secret (hex), e.g. the one ring peers use to authenticate each other. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}
