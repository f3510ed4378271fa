/**
 * Size limits applied to every frame before any allocation happens, so a peer cannot
 * make us allocate or buffer more than these by lying in a length prefix.
 */
export interface FrameLimits {
  /** Largest msgpack-encoded header accepted, in bytes. Default 16 KiB. */
  readonly maxHeaderBytes: number;
  /** Largest raw payload accepted after a header, in bytes. Default 256 MiB. */
  readonly maxPayloadBytes: number;
}

export const DEFAULT_FRAME_LIMITS: FrameLimits = Object.freeze({
  maxHeaderBytes: 16 * 1024,
  maxPayloadBytes: 256 * 1024 * 1024
});

/** Longest string accepted in any header field (group ids, reasons, error codes). */
export const MAX_STRING_LENGTH = 1024;
