import type { Dtype } from './dtypes.js';
import { JOB_PAYLOAD_TYPES, type JobMessage } from './job-messages.js';

/**
 * Every message that crosses a socket, typed in one place. A message is a msgpack map
 * with `v` (protocol version) and `t` (type), sent as one frame (`frame.ts`). This file
 * holds the peer-link messages of the collective layer (`hello`, `auth`, `ready`, `data`,
 * `abort`, `bye`); the coordinator <-> worker messages are in `job-messages.ts`. Only the
 * types in `PAYLOAD_TYPES` carry a raw payload after the header: `data` (a range of a
 * collective's buffer) and the job payloads, whose byte layouts are in `payloads.ts`.
 *
 * To add a message: its interface here (peer link) or in `job-messages.ts` (job), a member
 * of `Message` or `JobMessage`, and its validator in the table of `validate.ts` or
 * `validate-job.ts`: the tables are typed, so the compiler insists they are complete.
 */
export const PROTOCOL_VERSION = 2;

/** Length of the random nonces exchanged in the peer handshake. */
export const NONCE_BYTES = 32;
/** Length of an HMAC-SHA256 proof. */
export const PROOF_BYTES = 32;

/** First message on a peer link, both ways: who I am, which group, a fresh nonce. */
export interface HelloMessage {
  readonly v: number;
  readonly t: 'hello';
  /** Group (job and generation) this link belongs to; links of another group are refused. */
  readonly group: string;
  readonly from: number;
  readonly to: number;
  /** Number of processes in the group. */
  readonly size: number;
  /**
   * Rank threads of every process of the group, indexed by process rank (all 1 unless
   * hierarchical). Both sides must agree: global ranks are numbered from these counts.
   */
  readonly localSizes: readonly number[];
  readonly nonce: Uint8Array;
}

/** Proof that the sender knows the job secret: HMAC over both nonces and the direction. */
export interface AuthMessage {
  readonly v: number;
  readonly t: 'auth';
  readonly proof: Uint8Array;
}

/** The accepting side checked the dialer's proof; the link is up. */
export interface ReadyMessage {
  readonly v: number;
  readonly t: 'ready';
}

/** One piece of a collective: a contiguous range of the operation's buffer. */
export interface DataMessage {
  readonly v: number;
  readonly t: 'data';
  /** Group tag, so frames of a subgroup never match an operation of another. */
  readonly g: string;
  /** Sequence number of the operation within its group. */
  readonly s: number;
  /** Index of this transfer within the operation's schedule. */
  readonly i: number;
  /** Offset of the range in the operation's buffer, in elements. */
  readonly off: number;
  /** Number of elements that follow as raw bytes. */
  readonly n: number;
  readonly dt: Dtype;
}

/** The sender is abandoning the group: every pending operation must fail. */
export interface AbortMessage {
  readonly v: number;
  readonly t: 'abort';
  /** Stable error code of the failure that caused the abort. */
  readonly code: string;
  /** Rank the failure is attributed to (the lost peer), or the sender itself. */
  readonly rank: number;
  readonly reason: string;
}

/** Orderly goodbye: the sender closes the link on purpose. */
export interface ByeMessage {
  readonly v: number;
  readonly t: 'bye';
}

/** Peer-link messages (collective) and job messages (coordinator <-> worker, `job-messages.ts`). */
export type Message = HelloMessage | AuthMessage | ReadyMessage | DataMessage | AbortMessage | ByeMessage | JobMessage;
export type MessageType = Message['t'];
export type MessageOf<T extends MessageType> = Extract<Message, { t: T }>;

/** Message types that may carry a raw payload after the header. */
export const PAYLOAD_TYPES: ReadonlySet<MessageType> = new Set<MessageType>(['data', ...JOB_PAYLOAD_TYPES]);
