import type { HaltedMessage, JobSocket, JoinMessage, WorkerReadyMessage } from '@tfjs-ddp/protocol';
import type { NetworkWindow } from './network-stats.js';
import type { AssignedWorker } from './rank-assignment.js';
import type { WorkerStatus } from './status.js';

/**
 * joining: connected, no join yet; joined: admitted, not yet in the ring; assigned: told
 * its ranks, loading or linking; ready: training; halting/halted: stopping for a regroup;
 * finished; closed (lost or left).
 */
export type SessionState = 'joining' | 'joined' | 'assigned' | 'ready' | 'halting' | 'halted' | 'finished' | 'closed';

/** One worker connection as the coordinator tracks it. */
export interface WorkerSession {
  /** w1, w2, ... in order of connection. */
  readonly id: string;
  readonly socket: JobSocket;
  /** Remote address, for messages about connections that never joined. */
  readonly remote: string;
  state: SessionState;
  join?: JoinMessage;
  assigned?: AssignedWorker;
  ready?: WorkerReadyMessage;
  /** The device its first readiness named (a regroup's readiness names none). */
  device?: string;
  halted?: HaltedMessage;
  /** Wall time of the worker's slowest rank in the last step, ms. */
  lastStepMs: number | null;
  /** Its peer links' traffic, from its step reports (none before the first one with peers). */
  network?: NetworkWindow;
  handshakeTimer?: NodeJS.Timeout;
  stopHeartbeat?: () => void;
}

/** Sessions that hold ranks of the current ring (or are being given some). */
export const IN_RING: ReadonlySet<SessionState> = new Set(['assigned', 'ready', 'halting', 'halted']);

export function describeSession(session: WorkerSession): string {
  const join = session.join;
  if (join === undefined) return `${session.id} (${session.remote})`;
  return `${session.id} (${join.host}, pid ${join.pid}, ${join.threads} thread${join.threads === 1 ? '' : 's'})`;
}

/** A joined worker as /status shows it; `training`: the job is training now. */
export function workerStatus(s: WorkerSession, training: boolean): WorkerStatus {
  const a = s.assigned;
  return {
    id: s.id,
    host: s.join?.host ?? '',
    processRank: a?.processRank ?? null,
    ranks: a === undefined ? [] : Array.from({ length: a.threads }, (_, i) => a.rankOffset + i),
    threads: s.join?.threads ?? 0,
    backend: s.ready?.backend ?? null,
    device: s.device ?? null,
    lastStepMs: s.lastStepMs,
    network: s.network?.status() ?? null,
    state: s.state === 'closed' ? 'lost' : s.state === 'ready' && training ? 'training' : s.state === 'ready' ? 'ready' : 'connected',
  };
}
