import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { NONCE_BYTES, PROTOCOL_VERSION } from '@tfjs-ddp/protocol';
import type { HelloMessage, Message } from '@tfjs-ddp/protocol';
import { collectiveError } from '../errors.js';
import type { PeerConnection } from './peer-connection.js';
import { deriveLinkKeys } from './frame-mac.js';

/**
 * Mutual authentication of a peer link with the per-job secret, by challenge and
 * response so the secret never crosses the wire:
 *
 *   dialer -> acceptor   hello(nonceD)
 *   acceptor -> dialer   hello(nonceA), auth(HMAC(secret, "acceptor" | ids | nonceD | nonceA))
 *   dialer -> acceptor   auth(HMAC(secret, "dialer" | ids | nonceD | nonceA))
 *   acceptor -> dialer   ready
 *
 * Proofs are compared in constant time. Each side checks the other's proof before it goes
 * further: the dialer sends its proof only after checking the acceptor's, and takes a
 * `ready` only after that (`PeerConnection` refuses one that comes earlier); the acceptor
 * sends `ready` only after checking the dialer's. Every frame after `ready` (both ways)
 * carries a tag under keys derived from the secret and both nonces (`frame-mac.ts`), so
 * the link stays with whoever proved the secret.
 */
export interface LinkIdentity {
  readonly group: string;
  readonly rank: number;
  readonly size: number;
  /** Rank threads of every process, indexed by process rank (all 1 unless hierarchical). */
  readonly localSizes: readonly number[];
  readonly secret: Uint8Array;
}

function proof(
  secret: Uint8Array,
  role: 'dialer' | 'acceptor',
  group: string,
  dialer: number,
  acceptor: number,
  nonceD: Uint8Array,
  nonceA: Uint8Array
): Buffer {
  return createHmac('sha256', secret)
    .update(`tfjs-ddp/${PROTOCOL_VERSION}|${role}|${group}|${dialer}|${acceptor}|`)
    .update(nonceD)
    .update(nonceA)
    .digest();
}

function verify(expected: Buffer, got: Uint8Array): boolean {
  return got.byteLength === expected.byteLength && timingSafeEqual(expected, got);
}

function hello(me: LinkIdentity, to: number, nonce: Uint8Array): HelloMessage {
  return { v: PROTOCOL_VERSION, t: 'hello', group: me.group, from: me.rank, to, size: me.size, localSizes: me.localSizes, nonce };
}

async function expect<T extends Message['t']>(link: PeerConnection, type: T, timeoutMs: number): Promise<Extract<Message, { t: T }>> {
  const m = await link.nextControl(timeoutMs);
  if (m.t === 'abort') {
    const code = m.code === 'COLL_ERR_AUTH' || m.code === 'COLL_ERR_CONFIG' ? m.code : 'COLL_ERR_CONNECT';
    throw collectiveError(code, `rank ${link.peer} refused the link: ${m.reason}`, link.peer);
  }
  if (m.t !== type) throw collectiveError('COLL_ERR_PROTOCOL', `expected ${type} from rank ${link.peer}, got ${m.t}`, link.peer);
  return m as Extract<Message, { t: T }>;
}

/** A peer's string, quoted short enough that the abort carrying it stays under the protocol's limits. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

function checkHello(me: LinkIdentity, m: HelloMessage, from: number | undefined): void {
  const problems: string[] = [];
  if (m.group !== me.group) problems.push(`group ${quoted(m.group)} (${m.group.length} characters) is not ${quoted(me.group)}`);
  if (m.to !== me.rank) problems.push(`it addressed rank ${m.to}`);
  if (m.size !== me.size) problems.push(`size ${m.size} is not ${me.size}`);
  // Global ranks are numbered from these counts: peers that disagree would mix up ranks.
  const differ = m.localSizes.findIndex((n, p) => n !== me.localSizes[p]);
  if (m.size === me.size && differ >= 0) {
    problems.push(`it counts ${m.localSizes[differ]} rank threads in process ${differ}, here ${me.localSizes[differ]}`);
  }
  if (from !== undefined && m.from !== from) problems.push(`it is rank ${m.from}, not ${from}`);
  if (problems.length > 0) throw collectiveError('COLL_ERR_CONFIG', `peer hello refused: ${problems.join('; ')}`, m.from);
}

/** Dialer side; resolves when the acceptor has confirmed the link. */
export async function dialHandshake(link: PeerConnection, me: LinkIdentity, to: number, timeoutMs: number): Promise<void> {
  const nonceD = randomBytes(NONCE_BYTES);
  link.sendControl(hello(me, to, nonceD));
  const theirs = await expect(link, 'hello', timeoutMs);
  checkHello(me, theirs, to);
  const auth = await expect(link, 'auth', timeoutMs);
  if (!verify(proof(me.secret, 'acceptor', me.group, me.rank, to, nonceD, theirs.nonce), auth.proof)) {
    link.sendControl({ v: PROTOCOL_VERSION, t: 'abort', code: 'COLL_ERR_AUTH', rank: me.rank, reason: 'the job secrets differ' });
    throw collectiveError('COLL_ERR_AUTH', `rank ${to} does not know the job secret`, to);
  }
  link.sendControl({ v: PROTOCOL_VERSION, t: 'auth', proof: proof(me.secret, 'dialer', me.group, me.rank, to, nonceD, theirs.nonce) });
  link.armReady(deriveLinkKeys(me.secret, me.group, me.rank, to, nonceD, theirs.nonce));
  await expect(link, 'ready', timeoutMs);
}

/**
 * Acceptor side; `accepts(rank)` says whether a link from that rank is still wanted.
 * Resolves with the dialer's rank. On refusal the dialer is told why before the close.
 */
export async function acceptHandshake(link: PeerConnection, me: LinkIdentity, accepts: (rank: number) => boolean, timeoutMs: number): Promise<number> {
  const theirs = await expect(link, 'hello', timeoutMs);
  try {
    checkHello(me, theirs, undefined);
    if (!accepts(theirs.from)) throw collectiveError('COLL_ERR_CONFIG', `no link expected from rank ${theirs.from}`, theirs.from);
  } catch (err) {
    link.sendControl({ v: PROTOCOL_VERSION, t: 'abort', code: 'COLL_ERR_CONFIG', rank: me.rank, reason: (err as Error).message });
    throw err;
  }
  link.assignPeer(theirs.from);
  const nonceA = randomBytes(NONCE_BYTES);
  link.sendControl(hello(me, theirs.from, nonceA));
  link.sendControl({ v: PROTOCOL_VERSION, t: 'auth', proof: proof(me.secret, 'acceptor', me.group, theirs.from, me.rank, theirs.nonce, nonceA) });
  const auth = await expect(link, 'auth', timeoutMs);
  if (!verify(proof(me.secret, 'dialer', me.group, theirs.from, me.rank, theirs.nonce, nonceA), auth.proof)) {
    link.sendControl({ v: PROTOCOL_VERSION, t: 'abort', code: 'COLL_ERR_AUTH', rank: me.rank, reason: 'wrong job secret' });
    throw collectiveError('COLL_ERR_AUTH', `a peer claiming rank ${theirs.from} does not know the job secret`, theirs.from);
  }
  link.admit(deriveLinkKeys(me.secret, me.group, theirs.from, me.rank, theirs.nonce, nonceA));
  return theirs.from;
}
