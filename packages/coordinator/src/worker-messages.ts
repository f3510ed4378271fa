import { JobError } from '@tfjs-ddp/job';
import { decodeCheckpointPayload, decodeModelPayload, type Message } from '@tfjs-ddp/protocol';
import type { CoordinatorCore } from './coordinator-core.js';
import { CoordinatorError } from './errors.js';
import { NetworkWindow } from './network-stats.js';
import { describeSession, type WorkerSession } from './worker-session.js';
import type { WorkerSessionsHandlers } from './worker-sessions.js';

/**
 * What the coordinator does with what its admitted workers send, and with their loss:
 * readiness and halts move a worker through its states, step reports and evaluations go
 * to the job driver, the model and checkpoints are kept, failures end or re-form the ring.
 */
export class WorkerMessages implements WorkerSessionsHandlers {
  constructor(private readonly core: CoordinatorCore) {}

  admitted(session: WorkerSession): void {
    const { core } = this;
    const waiting = core.state === 'waiting';
    const who = describeSession(session);
    const where = waiting ? ` (${core.workers.joined().length} of ${core.options.workers})` : ' the running job; it enters at the next step boundary';
    core.log.info({ worker: who }, `worker ${who} joined${where}`);
    if (!waiting) core.options.onMembership?.({ kind: 'joined', generation: core.generation, worker: who });
    core.wake();
  }

  message(session: WorkerSession, message: Message, payload: Uint8Array): void {
    const { core } = this;
    switch (message.t) {
      case 'workerReady':
        if (session.state !== 'assigned') break;
        // A regroup's readiness names no device: the ranks kept the one they started on.
        session.device = message.device ?? session.device;
        session.ready = message;
        session.state = 'ready';
        const fields = { worker: describeSession(session), backend: message.backend, device: session.device, reason: message.backendReason };
        core.log.info(fields, `worker ${session.id} ready (${message.backend} on ${session.device ?? 'an unnamed device'})`);
        core.wake();
        return;
      case 'halted':
        if (session.state !== 'halting' || message.generation !== core.generation) break;
        session.halted = message;
        session.state = 'halted';
        core.wake();
        return;
      case 'stepDone':
        if (session.state !== 'ready') break;
        this.takeStepReports(session, message);
        return;
      case 'evaluated': {
        if (session.state !== 'ready' || session.assigned === undefined) break;
        const evaluation = message.accuracy >= 0 ? { accuracy: message.accuracy, loss: message.loss, count: message.count } : undefined;
        core.driver?.evaluated(session.assigned.processRank, message.epoch, evaluation);
        return;
      }
      case 'model': {
        if (session.state !== 'ready' || session.assigned?.rankOffset !== 0) break;
        const { modelJson, weights } = decodeModelPayload(message, payload);
        core.model = { json: modelJson, weights, evaluation: { accuracy: message.accuracy, loss: message.loss, count: core.facts.data.test.size } };
        return;
      }
      case 'checkpointData': {
        if (session.state !== 'ready' || session.assigned?.rankOffset !== 0) break;
        const c = decodeCheckpointPayload(message, payload);
        core.checkpoints.write(message.step, c.modelJson, c.weights, c.state);
        core.wake();
        return;
      }
      case 'finished':
        if (session.state !== 'ready' || session.assigned === undefined) break;
        session.state = 'finished';
        core.driver?.finished(session.assigned.processRank);
        return;
      case 'fail':
        this.onWorkerFailure(session, message);
        return;
      case 'leave':
        // Any admitted worker may leave; its reason is only logged (cut, as any worker's text).
        this.lost(session, `worker ${describeSession(session)} left (${message.reason.slice(0, 200)})`);
        session.socket.close(1000, 'left');
        return;
      default:
        break;
    }
    // A halting worker may still send what it had in flight; anything else out of place is a protocol error.
    if (session.state === 'halting' || session.state === 'halted' || message.t === 'stepDone' || message.t === 'evaluated') return;
    core.workers.dropInvalid(session, new CoordinatorError('COORD_ERR_UNEXPECTED_MESSAGE', `unexpected ${message.t} from a worker in state ${session.state}`));
  }

  /** An admitted worker sent what does not decode or validate: it is lost like a closed one. */
  invalid(session: WorkerSession, reason: string): void {
    this.lost(session, reason);
  }

  lost(session: WorkerSession, reason: string): void {
    const { core } = this;
    const before = session.state;
    session.stopHeartbeat?.();
    session.state = 'closed';
    if (core.state === 'finished' || core.state === 'failed') return;
    if (before === 'joined') {
      // Not in the ring: it simply is no longer counted.
      core.workers.forget(session);
      core.log.warn({ worker: describeSession(session) }, `worker ${describeSession(session)} left before entering the ring`);
      core.wake();
      return;
    }
    core.options.onMembership?.({ kind: 'lost', generation: core.generation, worker: describeSession(session), reason });
    if (core.state === 'training' || core.state === 'recovering') {
      core.failJob(new CoordinatorError('COORD_ERR_WORKER_LOST', reason));
      return;
    }
    // Lost while the first ring loads: the others cannot link to it.
    core.failJob(new CoordinatorError('COORD_ERR_WORKERS_MISSING', `${reason} before training started`));
  }

  /**
   * A worker's ranks failed. A collective failure (a peer lost or cut off, a deadline) is
   * the ring's, not the worker's: re-form the ring. Anything else (the model, the data)
   * would fail everywhere again: the job fails.
   */
  private onWorkerFailure(session: WorkerSession, message: Extract<Message, { t: 'fail' }>): void {
    const { core } = this;
    const cause = Object.assign(new Error(message.reason), { code: message.code });
    if (message.code.startsWith('COLL_ERR_') && core.state === 'training') {
      core.failJob(new CoordinatorError('COORD_ERR_RING_FAILED', `${describeSession(session)}: ${message.reason}`, { cause }));
      return;
    }
    if (core.state === 'recovering' && message.code.startsWith('COLL_ERR_')) return;
    core.failJob(new CoordinatorError('COORD_ERR_WORKER_FAILED', `worker ${describeSession(session)} failed: ${message.reason}`, { cause }));
  }

  /**
   * A training worker's step reports: of this ring, for its own ranks, and as the job
   * driver checks them (steps in flight, each rank once, possible timings, the samples of
   * its shard). A worker whose reports break any of this is dropped with the code, like
   * one that sent an invalid message: the ring re-forms without it, the step is redone.
   */
  private takeStepReports(session: WorkerSession, message: Extract<Message, { t: 'stepDone' }>): void {
    const generation = this.core.generation;
    try {
      if (message.generation !== generation) {
        throw new CoordinatorError('COORD_ERR_BAD_REPORT', `a report of ring generation ${message.generation}; the ring is generation ${generation}`);
      }
      const ranks = message.reports.map((r) => r.rank);
      if (!ownsRanks(session, ranks)) {
        throw new CoordinatorError('COORD_ERR_BAD_REPORT', `a report for rank(s) ${ranks.slice(0, 8).join(', ')}, not all of them its own`);
      }
      this.core.driver?.stepDone(message.step, message.reports);
      if (message.net !== undefined) {
        session.network ??= new NetworkWindow();
        session.network.record(message.net, message.reports, message.generation);
        this.core.networkWarning.check(session.id, session.network);
      }
    } catch (error) {
      // The job driver's report checks throw JobError (COORD_ERR_BAD_REPORT, COORD_ERR_SHARD_MISMATCH).
      if (!(error instanceof CoordinatorError) && !(error instanceof JobError)) throw error;
      this.core.workers.dropInvalid(session, error);
    }
  }
}

function ownsRanks(session: WorkerSession, ranks: number[]): boolean {
  const a = session.assigned;
  return a !== undefined && ranks.every((r) => r >= a.rankOffset && r < a.rankOffset + a.threads);
}
