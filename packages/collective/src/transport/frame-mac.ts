import { createCipheriv, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { CipherChaCha20Poly1305 } from 'node:crypto';
import { PROTOCOL_VERSION } from '@tfjs-ddp/protocol';
import type { FrameAuthenticator } from '@tfjs-ddp/protocol';
import { collectiveError } from '../errors.js';

/**
 * Authentication of every frame on an established peer link. The one place that says
 * what a frame's tag is:
 *
 *   frame on the wire = prefix | header | payload | tag (FRAME_TAG_BYTES)
 *   tag = Poly1305 tag of chacha20-poly1305(key = this direction's link key,
 *                                           nonce = 0u32 | u64 LE frame sequence number,
 *                                           AAD = prefix | header | payload, plaintext = empty)
 *
 * The sequence number counts the frames sent in one direction of one connection from 0;
 * it is not sent: both ends count. A replayed, reordered or dropped frame is checked
 * against another nonce, hence another one-time Poly1305 key, and fails. Keys are per
 * connection and per direction (HKDF of the job secret and both handshake nonces), so a
 * (key, nonce) pair is never used twice and a frame cannot be reflected back or moved to
 * another link.
 *
 * Why chacha20-poly1305 with an empty plaintext rather than HMAC-SHA256: both
 * authenticate; measured on this machine's node 20 / OpenSSL 3 over 1 and 16 MB,
 * Poly1305 over the AAD runs at about 7-8.6 GB/s, HMAC-SHA256 at 0.85-1.4 GB/s — the
 * difference between a MAC that costs a few percent of a loopback all-reduce and one
 * that halves it. The payload stays in clear (integrity, not secrecy: DESIGN §8; TLS
 * would be the way to hide it), so received bytes still land in place with no copy.
 */
export const FRAME_TAG_BYTES = 16;

const ALGORITHM = 'chacha20-poly1305' as const;
const KEY_BYTES = 32;
/** The plaintext is always empty: everything is additional data. */
const AAD_ONLY = { plaintextLength: 0 };

/** The two keys of one connection, by direction. */
export interface LinkKeys {
  readonly dialerToAcceptor: Buffer;
  readonly acceptorToDialer: Buffer;
}

/** Both directions' keys of the connection `dialer` made to `acceptor` with these handshake nonces. */
export function deriveLinkKeys(secret: Uint8Array, group: string, dialer: number, acceptor: number, nonceD: Uint8Array, nonceA: Uint8Array): LinkKeys {
  const salt = Buffer.concat([nonceD, nonceA]);
  const info = `tfjs-ddp/${PROTOCOL_VERSION}|frame-keys|${group}|${dialer}|${acceptor}`;
  const okm = Buffer.from(hkdfSync('sha256', secret, salt, info, 2 * KEY_BYTES));
  return { dialerToAcceptor: okm.subarray(0, KEY_BYTES), acceptorToDialer: okm.subarray(KEY_BYTES) };
}

/** Counts one direction's frames and gives each its Poly1305 context. */
class FrameSequence {
  private next = 0n;
  private readonly nonce = Buffer.alloc(12);

  constructor(private readonly key: Buffer) {}

  /** A context for the next frame (the sequence number advances). */
  start(): CipherChaCha20Poly1305 {
    this.nonce.writeBigUInt64LE(this.next, 4);
    this.next++;
    return createCipheriv(ALGORITHM, this.key, this.nonce, { authTagLength: FRAME_TAG_BYTES });
  }
}

/** Computes the tag of each frame sent in one direction, in send order. */
export class FrameSealer {
  private readonly sequence: FrameSequence;

  constructor(key: Buffer) {
    this.sequence = new FrameSequence(key);
  }

  /** The tag of the next frame, `head` (prefix and header) then `payload`; neither is copied. */
  seal(head: Uint8Array, payload: Uint8Array): Buffer {
    const mac = this.sequence.start();
    mac.setAAD(head, AAD_ONLY);
    if (payload.byteLength > 0) mac.setAAD(payload, AAD_ONLY);
    mac.final();
    return mac.getAuthTag();
  }
}

/** Checks the tag of each frame received in one direction (`FrameDecoder.authenticate`). */
export class FrameVerifier implements FrameAuthenticator {
  readonly tagBytes = FRAME_TAG_BYTES;
  private mac: CipherChaCha20Poly1305 | undefined;
  private readonly sequence: FrameSequence;

  constructor(
    key: Buffer,
    private readonly peer: number
  ) {
    this.sequence = new FrameSequence(key);
  }

  update(bytes: Uint8Array): void {
    this.mac ??= this.sequence.start();
    if (bytes.byteLength > 0) this.mac.setAAD(bytes, AAD_ONLY);
  }

  verify(tag: Uint8Array): void {
    const mac = this.mac ?? this.sequence.start();
    this.mac = undefined;
    mac.final();
    if (!timingSafeEqual(mac.getAuthTag(), tag)) {
      throw collectiveError('COLL_ERR_MAC', `a frame from rank ${this.peer} failed its authentication: changed, replayed or reordered on the way`, this.peer);
    }
  }
}
