import type { Dataset } from '@tfjs-ddp/data';
import { encodeStatePayload, encodeTestSetPayload, type PeerEntry } from '@tfjs-ddp/protocol';
import type { CoordinatorCore } from './coordinator-core.js';
import { CoordinatorError, type CoordinatorErrorCode } from './errors.js';
import { assignRanks, worldSize, type AssignedWorker } from './rank-assignment.js';
import { describeSession, type WorkerSession } from './worker-session.js';

/** How long survivors have to halt, and to send the checkpoint of a job that stops. */
const HALT_TIMEOUT_MS = 60_000;
/** How often a wait for workers says who is there. */
const REMINDER_MS = 10_000;

/**
 * Ring formation and elastic membership: gives the first ring its ranks, re-forms the
 * ring after a loss or for joiners (survivors halt and roll back, joiners load and take
 * rank 0's state), and when too few workers are left keeps the survivors' state as a
 * checkpoint for --resume. Every wait here ends at a job failure.
 */
export class RingFormation {
  constructor(private readonly core: CoordinatorCore) {}

  /** Waits until `options.workers` workers joined, within the job's wait deadline. */
  async awaitWorkers(): Promise<void> {
    const { core } = this;
    const expected = core.options.workers;
    const waitMs = core.deadlines.waitTimeoutMs;
    const deadline = performance.now() + waitMs;
    // A worker can leave between the last join and this continuation: count again.
    do {
      const left = Math.max(1, deadline - performance.now());
      await this.until('joining', () => core.workers.joined().length >= expected, left, 'COORD_ERR_WORKERS_MISSING', () => this.missingMessage(waitMs));
    } while (core.workers.joined().length < expected);
  }

  /** Forms the first ring of every worker that joined, and waits until all are ready. */
  async formFirst(): Promise<void> {
    this.form(this.core.workers.joined(), [], -1, false);
    await this.untilReady();
  }

  /**
   * A new ring after a loss or for joiners: survivors halt (pending collectives fail),
   * roll back to the state after `committed` and link to their new peers; joiners load
   * the model and take rank 0's state with them. Waits for enough workers first.
   */
  async regroup(committed: number, reason: string): Promise<void> {
    const { core } = this;
    const o = core.options;
    core.state = 'recovering';
    core.generation++;
    const generation = core.generation;
    const minWorkers = o.minWorkers ?? 1;
    core.log.warn({ generation, committed, reason }, `re-forming the ring (generation ${generation}) after step ${committed + 1}: ${reason}`);
    const present = (): number => core.workers.ring().filter((s) => s.state !== 'closed').length + core.workers.pendingJoiners().length;
    if (present() < minWorkers) {
      const timeoutMs = core.deadlines.rejoinTimeoutMs;
      const tooFew = (): string =>
        `only ${core.workers.ring().length + core.workers.pendingJoiners().length} worker(s) left, fewer than --min-workers ${minWorkers}, ` +
        `and none joined within ${Math.round(timeoutMs / 1000)} s; the last committed step is ${committed + 1}`;
      try {
        await this.until('rejoining', () => present() >= minWorkers, timeoutMs, 'COORD_ERR_WORKERS_MISSING', tooFew);
      } catch (error) {
        // Stopping for good: the survivors still hold the committed state; keep it for --resume.
        await this.checkpointSurvivors(committed, reason).catch((failure: unknown) => {
          core.log.error({ committed }, `no checkpoint of step ${committed + 1} from the survivors: ${(failure as Error).message}`);
        });
        throw error;
      }
    }
    const remaining = await this.haltRing(committed, reason);
    const joiners = core.workers.pendingJoiners().slice(0, Math.max(0, o.workers - remaining.length));
    this.form(remaining, joiners, committed, true);
    await this.untilReady();
    core.state = 'training';
    const workers = remaining.length + joiners.length;
    o.onMembership?.({ kind: 'regrouped', generation, workers, fromStep: committed + 1 });
    core.log.info({ generation, workers, fromStep: committed + 1 }, `ring re-formed with ${workers} worker(s); training goes on from step ${committed + 2}`);
  }

  /** Halts the workers of the ring for the current generation; resolves with those that halted. */
  private async haltRing(committed: number, reason: string): Promise<WorkerSession[]> {
    const generation = this.core.generation;
    const survivors = this.core.workers.ring();
    for (const s of survivors) {
      s.state = 'halting';
      s.halted = undefined;
      s.socket.send({ t: 'halt', generation, reason: reason.slice(0, 1000) });
    }
    const notHalted = (): string => `workers did not halt: ${survivors.filter((s) => s.state !== 'halted').map(describeSession).join(', ')}`;
    const settled = (): boolean => survivors.every((s) => s.state === 'halted' || s.state === 'closed');
    await this.until('halting', settled, HALT_TIMEOUT_MS, 'COORD_ERR_WORKER_LOST', notHalted);
    const remaining = survivors.filter((s) => s.state === 'halted');
    if (remaining.length === 0) {
      throw new CoordinatorError('COORD_ERR_WORKERS_MISSING', `no worker survived (the last committed step is ${committed + 1}): ${reason}`);
    }
    return remaining;
  }

  /**
   * Too few workers are left to go on, or a signal stops the job: re-forms the survivors
   * (rolled back to `committed`) and writes their checkpoint of it, unless one is already written.
   */
  async checkpointSurvivors(committed: number, reason: string): Promise<void> {
    const { core } = this;
    const checkpoints = core.checkpoints;
    if (committed < 0 || checkpoints.lastWritten >= committed + 1) return;
    const remaining = await this.haltRing(committed, reason);
    this.form(remaining, [], committed, true);
    await this.untilReady();
    const generation = core.generation;
    for (const s of core.workers.ring()) s.socket.send({ t: 'checkpointRequest', generation, step: committed });
    const noCheckpoint = (): string => `the surviving workers sent no checkpoint of step ${committed + 1}`;
    await this.until('checkpointing', () => checkpoints.lastReceived >= committed, HALT_TIMEOUT_MS, 'COORD_ERR_WORKER_LOST', noCheckpoint);
    await checkpoints.flush();
    const fields = { committed, workers: remaining.length };
    if (checkpoints.lastWritten < committed + 1) {
      core.log.error(
        { ...fields, cause: checkpoints.lastFailure?.error },
        `stopping: the checkpoint of step ${committed + 1} from the surviving worker(s) FAILED to be written; ` +
          `--resume continues from step ${checkpoints.lastWritten}`,
      );
      return;
    }
    core.log.warn(fields, `stopping: checkpoint of step ${committed + 1} taken from the ${remaining.length} surviving worker(s); --resume continues from it`);
  }

  /** Tells every worker of the next ring its ranks: survivors a regroup, newcomers an assignment. */
  private form(survivors: WorkerSession[], joiners: WorkerSession[], committed: number, regrouping: boolean): void {
    const { core } = this;
    const members = [...survivors, ...joiners];
    // Survivors first, so rank 0 (whose state joiners take) is a survivor: launch order
    // (rank process i on device i) only where it cannot put a joiner before them.
    const byLaunch = survivors.length === 0 || joiners.length === 0;
    const assigned = assignRanks(
      members.map((s) => {
        const slot = { id: s.id, host: s.join?.host ?? '', peerPort: s.halted?.peerPort ?? s.join?.peerPort ?? 1, threads: s.join?.threads ?? 1 };
        return !byLaunch || s.join?.launchIndex === undefined ? slot : { ...slot, launchIndex: s.join.launchIndex };
      }),
    );
    const peers = assigned.map((a) => ({ rank: a.processRank, host: a.host, port: a.peerPort, threads: a.threads }));
    const size = worldSize(assigned);
    const shareState = joiners.length > 0;
    const processCount = assigned.length;
    for (const a of assigned) {
      const session = core.workers.get(a.id);
      if (session === undefined) continue;
      session.assigned = a;
      session.ready = undefined;
      session.state = 'assigned';
      if (regrouping && survivors.includes(session)) {
        const { processRank, rankOffset, threads } = a;
        const generation = core.generation;
        const ranks = { processRank, processCount, rankOffset, threads, worldSize: size };
        session.socket.send({ t: 'regroup', generation, ...ranks, peers, rollbackTo: committed, shareState });
      } else {
        // A resumed run's first ring: rank 0 starts from the checkpoint's state and shares it.
        const resumed = core.facts.resumeFrom;
        if (!regrouping && a.rankOffset === 0 && resumed !== undefined) {
          session.socket.send({ t: 'state', step: resumed.step }, ...encodeStatePayload(resumed.state));
        }
        this.assign(session, a, processCount, size, peers, regrouping);
        if (regrouping) core.rankRestarts += a.threads;
      }
    }
    const workers = assigned.map((a) => ({ id: a.id, host: a.host, processRank: a.processRank, ranks: `${a.rankOffset}..${a.rankOffset + a.threads - 1}` }));
    core.log.info({ generation: core.generation, workers, worldSize: size }, `assigned ${size} ranks over ${processCount} worker(s)`);
  }

  private assign(session: WorkerSession, a: AssignedWorker, processCount: number, size: number, peers: PeerEntry[], joining: boolean): void {
    const { core } = this;
    const o = core.options;
    const train = core.facts.data.train;
    session.socket.send({
      t: 'assign',
      jobId: core.jobId,
      generation: core.generation,
      joining,
      jobSecret: core.jobSecret,
      processRank: a.processRank,
      processCount,
      rankOffset: a.rankOffset,
      threads: a.threads,
      worldSize: size,
      peers,
      config: o.config,
      bnMode: o.bnMode ?? 'sync',
      dataSource: o.dataSource,
      datasetFingerprint: train.fingerprint(),
      inputShape: [...train.inputShape],
      numClasses: train.numClasses,
      modelHash: core.facts.modelHash,
      checkReplicasEvery: o.checkReplicasEvery ?? 0,
      opTimeoutMs: o.opTimeoutMs ?? 120_000,
      compress: o.compress ?? 'none',
    });
    if (o.dataSource === 'coordinator' && a.rankOffset === 0) sendTestSet(session, core.facts.data.test);
  }

  private untilReady(): Promise<void> {
    const { core } = this;
    const timeoutMs = core.deadlines.readyTimeoutMs;
    const notReady = (): string =>
      `not every worker loaded its backend, data and model and linked to its peers within ${Math.round(timeoutMs / 1000)} s ` +
      `(not ready: ${core.workers.ring().filter((s) => s.state !== 'ready').map(describeSession).join(', ')})`;
    return this.until('loading', () => core.workers.ring().every((s) => s.state === 'ready'), timeoutMs, 'COORD_ERR_WORKERS_MISSING', notReady);
  }

  /** Resolves when `ready()` holds; rejects at a job failure or after `timeoutMs`; says who is there every 10 s. */
  private async until(what: string, ready: () => boolean, timeoutMs: number, code: CoordinatorErrorCode, message: () => string): Promise<void> {
    const { core } = this;
    const reminder = setInterval(() => {
      core.options.hooks?.onWaiting?.(core.workers.joined().length, core.options.workers);
      const joined = core.workers.joined();
      core.log.info({ joined: joined.map(describeSession) }, `${what}: ${joined.length} of ${core.options.workers} worker(s) present`);
    }, REMINDER_MS);
    try {
      await core.waits.until(ready, timeoutMs, () => new CoordinatorError(code, message()));
    } finally {
      clearInterval(reminder);
    }
  }

  private missingMessage(timeoutMs: number): string {
    const { core } = this;
    const present = core.workers.joined();
    const missing = core.options.workers - present.length;
    const joined = present.length > 0 ? ` (joined: ${present.map(describeSession).join(', ')})` : '';
    return (
      `only ${present.length} of ${core.options.workers} workers joined within ${Math.round(timeoutMs / 1000)} s${joined}; ` +
      `${missing} never connected to port ${core.facts.port} with the job's token: ` +
      "check the workers' --coordinator URL, their token and the network"
    );
  }
}

/** The whole test set to the worker hosting rank 0, which evaluates the model after every epoch. */
function sendTestSet(session: WorkerSession, test: Dataset): void {
  const all = test.batch(Int32Array.from({ length: test.size }, (_, i) => i));
  const header = { t: 'testSet', count: all.count, inputShape: [...test.inputShape], numClasses: test.numClasses } as const;
  session.socket.send(header, ...encodeTestSetPayload(all, test.inputShape));
}
