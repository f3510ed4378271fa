import { availableParallelism, hostname } from 'node:os';
import { shareDataset, ArrayDataset, type SharedDatasetHandle } from '@tfjs-ddp/data';
import {
  decodeStatePayload,
  decodeStepPayload,
  decodeTestSetPayload,
  type AssignMessage,
  type JobSocket,
  type Message,
  type Outgoing,
  type RegroupMessage,
  type StepMessage,
  type StructuredLog,
  type TestSetMessage,
} from '@tfjs-ddp/protocol';
import { connectToCoordinator } from './coordinator-link.js';
import { withDeadline } from './deadline.js';
import { ReportedError, rootCode, WorkerError } from './errors.js';
import { LocalRanks } from './local-ranks.js';
import { loadSharedDataset } from './load-dataset.js';
import { reportsToCoordinator } from './coordinator-reports.js';
import type { RankInit, RankReady } from './rank-messages.js';
import { RankPool } from './rank-pool.js';
import { overlapsOnThisMachine, RingMembership } from './ring-membership.js';
import type { RankBackend } from './thread-backend.js';
import { rankTestFaultsFromEnv, reportDeviceForTests, WRONG_SHARD_ENV } from './test-faults.js';
import { trustedJob, type OwnSources, type TrustedJob } from './trusted-sources.js';

export interface CoordinatorSessionOptions {
  coordinator: string;
  token: string;
  jobId?: string;
  threads: number;
  /** The choice given to the rank threads (already checked against the thread count). */
  backend: RankBackend;
  /** This process's index among its launcher's rank processes (`--procs`), sent with the join. */
  launchIndex?: number;
  advertiseHost?: string;
  listenHost: string;
  peerPort: number;
  connectTimeoutMs: number;
  assignTimeoutMs: number;
  startupTimeoutMs: number;
  /** The coordinator pings every second; silence for this long means it is gone. */
  watchdogMs: number;
  /** Trusted certificate(s) for a wss:// coordinator (see CoordinatorLinkOptions.ca). */
  tlsCa?: string | Buffer;
  /** The model and data set this worker was given itself; the coordinator's may only name these or bundled ones. */
  own: OwnSources;
  log: StructuredLog;
}

export interface SessionResult {
  jobId: string;
  processRank: number;
  ranks: number[];
}

/** How long the teardown waits for an aborted set-up to stop before closing what exists. */
const TEARDOWN_WAIT_MS = 5_000;

/** An error of the work an order started, as the coordinator is told it. */
function asWorkerError(error: unknown, what = ''): WorkerError {
  if (error instanceof WorkerError && what === '') return error;
  return new WorkerError('WORKER_ERR_RANK_FAILED', `${what}${(error as Error).message}`, { cause: error });
}

/**
 * One connection of a worker to its coordinator, from join to the end of the job: joins,
 * sets up the ranks when assigned, decodes the coordinator's orders and relays them to the
 * ranks, and sends their reports, checkpoints and model back. The ring itself (peer links,
 * halt and regroup) is `RingMembership`'s. Throws WORKER_ERR_COORDINATOR_LOST when the
 * coordinator goes away (the caller reconnects).
 */
export class CoordinatorSession {
  private socket: JobSocket | undefined;
  private readonly ring: RingMembership;
  private pool: RankPool | undefined;
  private ranks: LocalRanks | undefined;
  private assignment: AssignMessage | undefined;
  private generation = 0;
  private rankOffset = 0;
  private resumeState: Float32Array | undefined;
  private testSet: SharedDatasetHandle | undefined;
  private ended = false;
  /** Aborted when the session ends: work it started (data set load, waits, the ring's links and collectives) stops at once. */
  private readonly leaving = new AbortController();
  /** The first assignment's set-up (data, ring links, rank threads), awaited by the teardown. */
  private starting: Promise<void> | undefined;
  /** Every local rank finished the job (not failed): the ring is closed in order, not aborted. */
  private finishedJob = false;
  private resolveDone!: (result: SessionResult) => void;
  private rejectDone!: (error: Error) => void;
  private readonly done: Promise<SessionResult>;
  private readonly waitingForTestSet: { resolve?: () => void } = {};

  constructor(private readonly options: CoordinatorSessionOptions) {
    const { listenHost, peerPort, startupTimeoutMs, log } = options;
    this.ring = new RingMembership({ listenHost, peerPort, connectTimeoutMs: startupTimeoutMs, leaving: this.leaving.signal, log });
    this.done = new Promise<SessionResult>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  async run(): Promise<SessionResult> {
    const o = this.options;
    try {
      const peerPort = await this.ring.listen();
      this.socket = await connectToCoordinator(
        o.coordinator,
        o.connectTimeoutMs,
        {
          message: (message, payload) => this.onMessage(message, payload),
          invalid: (error) => this.fail(new WorkerError('WORKER_ERR_PROTOCOL', `invalid message from the coordinator: ${error.message}`, { cause: error })),
          close: (code, reason) => this.lost(`the connection to the coordinator closed (${code}${reason ? `: ${reason}` : ''})`),
        },
        (attempt, error) => o.log.warn({ attempt, error }, `coordinator not reachable yet (${error}); retrying`),
        { ca: o.tlsCa, token: o.token },
      );
      this.watchCoordinator(this.socket);
      const host = o.advertiseHost ?? hostname();
      const launch = o.launchIndex === undefined ? {} : { launchIndex: o.launchIndex };
      const backend = o.backend.request;
      this.send({ t: 'join', token: o.token, jobId: o.jobId ?? '', host, peerPort, threads: o.threads, backend, pid: process.pid, ...launch });
      o.log.info({ coordinator: o.coordinator, host, peerPort, threads: o.threads }, `joined the coordinator at ${o.coordinator}; waiting for the job`);
      const timer = setTimeout(() => this.lost(`no assignment from the coordinator within ${Math.round(o.assignTimeoutMs / 1000)} s`), o.assignTimeoutMs);
      try {
        return await this.done;
      } finally {
        clearTimeout(timer);
      }
    } finally {
      await this.teardown();
    }
  }

  /**
   * A coordinator that stops pinging (killed, cut off) is gone; the socket may never close
   * by itself. Messages from it and bytes to it written out count as pings (a ping may wait
   * behind a long message on a slow link).
   */
  private watchCoordinator(socket: JobSocket): void {
    let lastPing = performance.now();
    socket.ws.on('ping', () => (lastPing = performance.now()));
    const timer = setInterval(() => {
      if (performance.now() - Math.max(lastPing, socket.progressAt) > this.options.watchdogMs) {
        clearInterval(timer);
        socket.ws.terminate();
        this.lost(`no heartbeat from the coordinator for ${Math.round(this.options.watchdogMs / 1000)} s`);
      }
    }, 500);
    socket.ws.once('close', () => clearInterval(timer));
    this.done.finally(() => clearInterval(timer)).catch(() => undefined);
  }

  /** Leaves the job (SIGTERM): tells the coordinator, which regroups without this worker at once, and ends the session. */
  leave(reason: string): void {
    if (this.ended) return;
    this.send({ t: 'leave', reason });
    this.fail(new WorkerError('WORKER_ERR_LEFT', `left the job: ${reason}`));
  }

  private lost(reason: string): void {
    this.fail(new WorkerError('WORKER_ERR_COORDINATOR_LOST', reason));
  }

  private fail(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    // Also fails the ring's pending collectives and stops one still forming (RingMembership).
    this.leaving.abort(error.message);
    this.rejectDone(error);
  }

  /** Tells the coordinator (if it still listens) and ends this session. */
  private failJob(error: WorkerError): void {
    this.reportFailure(error);
    this.fail(error);
  }

  private reportFailure(error: WorkerError): void {
    this.send({ t: 'fail', code: rootCode(error), reason: error.message.slice(0, 1000), rank: error.rank ?? -1 });
  }

  private send(message: Outgoing, ...payload: Uint8Array[]): void {
    this.socket?.send(message, ...payload);
  }

  private onMessage(message: Message, payload: Uint8Array): void {
    // Past the end nothing more is started (a late assign would start rank threads nobody stops).
    if (this.ended) return;
    switch (message.t) {
      case 'refuse': {
        const cause = new ReportedError(message.reason, message.code);
        return this.fail(new WorkerError('WORKER_ERR_REFUSED', `the coordinator refused this worker: ${message.reason}`, { cause }));
      }
      case 'fail': {
        const cause = new ReportedError(message.reason, message.code);
        return this.fail(new WorkerError('WORKER_ERR_JOB_FAILED', `the job failed: ${message.reason}`, { cause }));
      }
      case 'state':
        this.resumeState = decodeStatePayload(payload);
        return;
      case 'testSet':
        return this.takeTestSet(message, payload);
      case 'assign':
        this.starting = this.start(message).catch((error: unknown) => this.failJob(asWorkerError(error)));
        return;
      case 'step':
        return this.relayStep(message, payload);
      case 'evaluate':
        if (message.generation === this.generation) this.toRanks(() => ({ kind: 'evaluate', generation: message.generation, epoch: message.epoch }));
        return;
      case 'halt':
        this.halt(message.generation).catch((error: unknown) => this.failJob(asWorkerError(error, 'could not halt: ')));
        return;
      case 'regroup':
        this.regroup(message).catch((error: unknown) => this.failJob(asWorkerError(error)));
        return;
      case 'checkpointRequest':
        // Every rank takes part (outside sync BN the moving statistics are averaged); rank 0 reports.
        if (message.generation === this.generation) this.toRanks(() => ({ kind: 'checkpoint', generation: message.generation, step: message.step }));
        return;
      case 'finish':
        this.toRanks(() => ({ kind: 'finish', returnModel: true, returnWeights: false }));
        return;
      default:
        return this.failJob(new WorkerError('WORKER_ERR_PROTOCOL', `unexpected ${message.t} from the coordinator`));
    }
  }

  private toRanks(order: (localRank: number) => Parameters<RankPool['send']>[1]): void {
    for (let r = 0; r < (this.pool?.size ?? 0); r++) this.pool?.send(r, order(r));
  }

  private takeTestSet(message: TestSetMessage, payload: Uint8Array): void {
    const { x, y } = decodeTestSetPayload(message, payload);
    this.testSet = shareDataset(new ArrayDataset({ name: 'test', x, y, inputShape: message.inputShape, numClasses: message.numClasses }));
    this.waitingForTestSet.resolve?.();
  }

  private relayStep(message: StepMessage, payload: Uint8Array): void {
    if (this.pool === undefined || message.generation !== this.generation) return;
    const { generation, step, epoch, globalCount } = message;
    decodeStepPayload(message, payload).forEach(({ indices, samples }, r) => {
      this.pool?.send(r, { kind: 'step', generation, step, epoch, globalCount, indices, ...samples });
    });
  }

  /** The first assignment: data, model check, ring links, rank threads. */
  private async start(assign: AssignMessage): Promise<void> {
    const o = this.options;
    this.assignment = assign;
    this.generation = assign.generation;
    this.rankOffset = assign.rankOffset;
    if (assign.threads !== o.threads) {
      throw new WorkerError('WORKER_ERR_PROTOCOL', `assigned ${assign.threads} ranks but this worker runs ${o.threads} threads`);
    }
    // Before anything is imported or read: the model and data are this worker's own or bundled.
    const trusted = trustedJob(assign, o.own);
    const ranks = `${assign.rankOffset}..${assign.rankOffset + assign.threads - 1}`;
    o.log.info(
      { processRank: assign.processRank, ranks, worldSize: assign.worldSize, generation: assign.generation, joining: assign.joining },
      `assigned process rank ${assign.processRank} of ${assign.processCount}${assign.joining ? ' in a running job' : ''}`,
    );
    const train = await this.loadData(assign, trusted.localDataset);
    const group = await this.ring.link(assign, assign, this.generation);
    // The job may have ended while the data loaded or the ring formed: no rank threads then.
    if (this.ended) return;
    const reports = reportsToCoordinator({
      send: (message, ...payload) => this.send(message, ...payload),
      generation: () => this.generation,
      failJob: (error) => this.failJob(error),
      reportFailure: (error) => this.reportFailure(error),
      stepTraffic: () => this.ring.stepTraffic(),
      finished: () => {
        this.ended = true;
        this.finishedJob = true;
        const ranks = Array.from({ length: assign.threads }, (_, i) => this.rankOffset + i);
        this.resolveDone({ jobId: assign.jobId, processRank: assign.processRank, ranks });
      },
    });
    const onReady = (ready: RankReady[]): void => {
      for (const { rank, backend, gradientBuckets } of ready) {
        const fields = { rank, backend: backend.name, device: backend.device, reason: backend.reason, gradientBuckets };
        this.options.log.info(fields, `rank ${rank}: ${backend.name} on ${backend.device}`);
        reportDeviceForTests(rank, backend.device);
      }
      reports.onReady(ready);
    };
    const local = new LocalRanks(assign.threads, assign.generation, { ...reports, onReady });
    this.ranks = local;
    const inits = this.rankInits(assign, trusted, train, group.handle);
    this.pool = new RankPool(inits, (report) => local.receive(report));
  }

  /** What each rank thread starts from. */
  private rankInits(assign: AssignMessage, trusted: TrustedJob, train: SharedDatasetHandle | undefined, communicator: unknown): RankInit[] {
    const testFaults = rankTestFaultsFromEnv();
    if (testFaults !== undefined) this.options.log.warn({ testFaults }, `${WRONG_SHARD_ENV} is set: this worker's ranks train wrong shards on purpose`);
    const test = this.testSet;
    const overlaps = overlapsOnThisMachine(assign, availableParallelism());
    if (!overlaps.overlaps) this.options.log.info({ rankThreads: overlaps.rankThreads, cores: overlaps.cores }, overlaps.why);
    return Array.from({ length: assign.threads }, (_, localRank) => ({
      kind: 'init',
      rank: assign.rankOffset + localRank,
      localRank,
      worldSize: assign.worldSize,
      config: trusted.config,
      bnMode: assign.bnMode,
      backend: this.options.backend.request,
      backendOptions: this.options.backend.options,
      ...(train === undefined ? {} : { train }),
      ...(test === undefined ? {} : { test }),
      inputShape: [...assign.inputShape],
      numClasses: assign.numClasses,
      communicator,
      checkReplicasEvery: assign.checkReplicasEvery,
      ...(overlaps.overlaps ? {} : { bucketBytes: 0 }),
      generation: assign.generation,
      ...(localRank === 0 && assign.rankOffset === 0 && this.resumeState !== undefined ? { initialState: this.resumeState } : {}),
      ...(testFaults === undefined ? {} : { testFaults }),
    }));
  }

  /** The training set when this worker reads its own copy (checked against the coordinator's fingerprint); else waits for the test set. */
  private async loadData(assign: AssignMessage, localDataset: string | undefined): Promise<SharedDatasetHandle | undefined> {
    const o = this.options;
    if (localDataset !== undefined) {
      // In a thread of its own: loading takes seconds of CPU that the coordinator link cannot miss.
      const data = await loadSharedDataset({ spec: localDataset, seed: assign.config.seed }, o.startupTimeoutMs, this.leaving.signal);
      if (data.fingerprint !== assign.datasetFingerprint) {
        throw new WorkerError(
          'WORKER_ERR_DATA_MISMATCH',
          `the data set "${localDataset}" here differs from the coordinator's "${assign.config.dataset.slice(0, 300)}" ` +
            `(fingerprint ${data.fingerprint.slice(0, 12)} vs ${assign.datasetFingerprint.slice(0, 12)})`,
        );
      }
      this.testSet = data.test;
      return data.train;
    }
    if (assign.rankOffset === 0 && this.testSet === undefined) {
      const arrived = new Promise<void>((resolve) => (this.waitingForTestSet.resolve = resolve));
      const late = (): WorkerError => new WorkerError('WORKER_ERR_PROTOCOL', 'the coordinator did not send the test set');
      await withDeadline(arrived, o.startupTimeoutMs, late, this.leaving.signal);
    }
    return undefined;
  }

  /** Stops the current ring and tells the coordinator where the next one's links go. */
  private async halt(generation: number): Promise<void> {
    this.generation = generation;
    this.ranks?.startGeneration(generation);
    const peerPort = await this.ring.halt(generation);
    this.send({ t: 'halted', generation, peerPort, lastApplied: this.ranks?.lastStep ?? -1 });
    this.options.log.info({ generation }, `halted for generation ${generation}`);
  }

  private async regroup(message: RegroupMessage): Promise<void> {
    const a = this.assignment;
    if (message.generation !== this.generation) return;
    if (a === undefined) throw new WorkerError('WORKER_ERR_PROTOCOL', 'a regroup before any assignment');
    const { generation, rankOffset, worldSize, rollbackTo, shareState } = message;
    this.rankOffset = rankOffset;
    const group = await this.ring.link(a, message, generation);
    this.toRanks((r) => ({ kind: 'regroup', generation, communicator: group.handle, rank: rankOffset + r, worldSize, rollbackTo, shareState }));
    const ranks = `${rankOffset}..${rankOffset + message.threads - 1}`;
    this.options.log.info(
      { generation, processRank: message.processRank, ranks, rollbackTo },
      `re-formed: process rank ${message.processRank} of ${message.processCount}, from step ${rollbackTo + 2}`,
    );
  }

  private async teardown(): Promise<void> {
    // A finished worker's ranks are out of every collective, but its last bytes of the
    // last one (BN recalibration's all-reduces, say) may still be on their way to a peer
    // still inside it: an abort would fail that peer, an orderly close lets it read them.
    // Otherwise ranks may be blocked in a collective: the abort wakes them.
    if (!this.finishedJob) {
      this.leaving.abort('the worker is leaving');
    }
    // Set-up still under way stops at the abort (its loads and links take the signal); only
    // then is it known whether rank threads were started that must be stopped.
    const late = (): Error => new Error(`the set-up did not stop within ${TEARDOWN_WAIT_MS} ms`);
    const settled = withDeadline(this.starting ?? Promise.resolve(), TEARDOWN_WAIT_MS, late);
    await settled.catch((error: unknown) => this.options.log.warn({ error: (error as Error).message }, 'leaving without waiting for the set-up'));
    await this.pool?.close();
    await this.ring.close();
    this.socket?.close(1000, 'worker done');
  }
}
