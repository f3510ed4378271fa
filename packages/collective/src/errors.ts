/**
 * Errors of the collective layer, each with a stable `code` and, where a failure is
 * attributed to one rank, that rank in `peer`. Codes are listed once here; shared memory
 * stores a failure as the code's index in `COLLECTIVE_ERROR_CODES` so rank threads can
 * rebuild the same error.
 */
export const COLLECTIVE_ERROR_CODES = [
  'COLL_ERR_UNKNOWN',
  /** An operation did not complete within its deadline (a peer is slow, hung or gone). */
  'COLL_ERR_TIMEOUT',
  /** A peer's connection died without a goodbye (process killed, network gone). */
  'COLL_ERR_PEER_LOST',
  /** A peer closed the group in order while this rank still needed it. */
  'COLL_ERR_PEER_CLOSED',
  /** The group was aborted on demand (here or by a peer) to re-form it. */
  'COLL_ERR_ABORTED',
  /** The group was closed here; no operation may start or continue. */
  'COLL_ERR_CLOSED',
  /** A peer failed the job-secret handshake, or we failed its check. */
  'COLL_ERR_AUTH',
  /** A peer sent bytes that are not a valid message. */
  'COLL_ERR_PROTOCOL',
  /** A peer's frame does not match the operation this rank is running (programs diverged). */
  'COLL_ERR_DESYNC',
  /** Links could not be established before the connect deadline. */
  'COLL_ERR_CONNECT',
  /** Bad arguments: sizes, ranks, roots, buffers. */
  'COLL_ERR_ARGUMENT',
  /** Group configuration disagrees between peers or with this call. */
  'COLL_ERR_CONFIG',
  /** A request this implementation does not support (documented limits). */
  'COLL_ERR_UNSUPPORTED',
  /**
   * A frame on an established peer link failed its authentication (changed, replayed,
   * reordered or dropped on the way): someone sits on the link. Last in the list so the
   * indices shared memory stores for the other codes do not move.
   */
  'COLL_ERR_MAC'
] as const;

export type CollectiveErrorCode = (typeof COLLECTIVE_ERROR_CODES)[number];

export class CollectiveError extends Error {
  readonly code: CollectiveErrorCode;
  /** Rank the failure is attributed to (the lost, slow or misbehaving peer), if any. */
  readonly peer: number | undefined;
  constructor(code: CollectiveErrorCode, message: string, options?: { peer?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CollectiveError';
    this.code = code;
    this.peer = options?.peer;
  }
}

export function collectiveError(code: CollectiveErrorCode, message: string, peer?: number, cause?: unknown): CollectiveError {
  return new CollectiveError(code, message, { ...(peer === undefined ? {} : { peer }), cause });
}

export function isCollectiveErrorCode(value: string): value is CollectiveErrorCode {
  return (COLLECTIVE_ERROR_CODES as readonly string[]).includes(value);
}

export function errorCodeIndex(code: CollectiveErrorCode): number {
  return COLLECTIVE_ERROR_CODES.indexOf(code);
}

export function errorCodeAt(index: number): CollectiveErrorCode {
  return COLLECTIVE_ERROR_CODES[index] ?? 'COLL_ERR_UNKNOWN';
}

/** Any thrown value as a CollectiveError (keeps codes; wraps everything else). */
export function asCollectiveError(err: unknown, fallback: CollectiveErrorCode = 'COLL_ERR_UNKNOWN'): CollectiveError {
  if (err instanceof CollectiveError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return collectiveError(fallback, message, undefined, err);
}
