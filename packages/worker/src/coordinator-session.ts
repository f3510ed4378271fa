import { hostname } from 'node:os';
import type { BackendRequest } from '@tfjs-ddp/backend';
import { createThreadGroup, ProcessGroupListener, type ProcessGroup, type ThreadGroup } from '@tfjs-ddp/collective';
import { rawBytes, type CoordinatorLog, type JobSocket } from '@tfjs-ddp/coordinator';
import { ArrayDataset, shareDataset, type SharedDatasetHandle } from '@tfjs-ddp/data';
import { viewPayload, type AssignMessage, type Message, type RingPlace, type StepMessage } from '@tfjs-ddp/protocol';
import { connectToCoordinator } from './coordinator-link.js';
import { withDeadline } from './deadline.js';
import { WorkerError } from './errors.js';
import { GRADIENT_ARENA_BYTES } from './local-job.js';
import { LocalRanks } from './local-ranks.js';
import { loadSharedDataset } from './load-dataset.js';
import type { RankInit } from './rank-messages.js';
import { RankPool } from './rank-pool.js';
import { rankTestFaultsFromEnv, WRONG_SHARD_ENV } from './test-faults.js';
import { trustedJob, type OwnSources } from './trusted-sources.js';

export interface CoordinatorSessionOptions {
  coordinator: string;
  token: string;
  jobId?: string;
  threads: number;
  /** The request given to the rank threads (already checked against the thread count). */
  backend: BackendRequest;
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
  log: CoordinatorLog;
}

export interface SessionResult {
  jobId: string;
  processRank: number;
  ranks: number[];
}

/**
 * One connection of a worker to its coordinator, from join to the end of the job: sets
 * up the ranks when assigned, relays step orders and reports, halts and re-forms its
 * part of the ring when the coordinator says so, and forwards checkpoints. Throws
 * WORKER_ERR_COORDINATOR_LOST when the coordinator goes away (the caller reconnects).
 */
export class CoordinatorSession {
  private socket: JobSocket | undefined;
  private listener: ProcessGroupListener | undefined;
  private processGroup: ProcessGroup | undefined;
  private group: ThreadGroup | undefined;
  private pool: RankPool | undefined;
  private ranks: LocalRanks | undefined;
  private assignment: AssignMessage | undefined;
  private generation = 0;
  private rankOffset = 0;
  private resumeState: Float32Array | undefined;
  private testSet: SharedDatasetHandle | undefined;
  private ended = false;
  private resolveDone!: (result: SessionResult) => void;
  private rejectDone!: (error: Error) => void;
  private readonly done: Promise<SessionResult>;
  private readonly waitingForTestSet: { resolve?: () => void } = {};

  constructor(private readonly options: CoordinatorSessionOptions) {
    this.done = new Promise<SessionResult>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  async run(): Promise<SessionResult> {
    const o = this.options;
    try {
      this.listener = await ProcessGroupListener.open({ host: o.listenHost, port: o.peerPort });
      this.socket = await connectToCoordinator(
        o.coordinator,
        o.connectTimeoutMs,
        {
          message: (message, payload) => this.onMessage(message, payload),
          invalid: (error) => this.fail(new WorkerError('WORKER_ERR_PROTOCOL', `invalid message from the coordinator: ${error.message}`, { cause: error })),
          close: (code, reason) => this.fail(new WorkerError('WORKER_ERR_COORDINATOR_LOST', `the connection to the coordinator closed (${code}${reason ? `: ${reason}` : ''})`)),
        },
        (attempt, error) => o.log.warn({ attempt, error }, `coordinator not reachable yet (${error}); retrying`),
        { ca: o.tlsCa, token: o.token },
      );
      this.watchCoordinator(this.socket);
      const advertiseHost = o.advertiseHost ?? hostname();
      this.socket.send({ t: 'join', token: o.token, jobId: o.jobId ?? '', host: advertiseHost, peerPort: this.listener.port, threads: o.threads, backend: o.backend, pid: process.pid });
      o.log.info({ coordinator: o.coordinator, host: advertiseHost, peerPort: this.listener.port, threads: o.threads }, `joined the coordinator at ${o.coordinator}; waiting for the job`);
      const timer = setTimeout(() => this.fail(new WorkerError('WORKER_ERR_COORDINATOR_LOST', `no assignment from the coordinator within ${Math.round(o.assignTimeoutMs / 1000)} s`)), o.assignTimeoutMs);
      try {
        return await this.done;
      } finally {
        clearTimeout(timer);
      }
    } finally {
      await this.teardown();
    }
  }

  /** A coordinator that stops pinging (killed, cut off) is gone; the socket may never close by itself. */
  private watchCoordinator(socket: JobSocket): void {
    let lastPing = performance.now();
    socket.ws.on('ping', () => (lastPing = performance.now()));
    const timer = setInterval(() => {
      if (performance.now() - lastPing > this.options.watchdogMs) {
        clearInterval(timer);
        socket.ws.terminate();
        this.fail(new WorkerError('WORKER_ERR_COORDINATOR_LOST', `no heartbeat from the coordinator for ${Math.round(this.options.watchdogMs / 1000)} s`));
      }
    }, 500);
    socket.ws.once('close', () => clearInterval(timer));
    this.done.finally(() => clearInterval(timer)).catch(() => undefined);
  }

  private fail(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.group?.abort(error.message);
    this.rejectDone(error);
  }

  /** Tells the coordinator (if it still listens) and ends this session. */
  private failJob(error: WorkerError): void {
    this.send({ t: 'fail', code: rootCode(error), reason: error.message.slice(0, 1000), rank: error.rank ?? -1 });
    this.fail(error);
  }

  private send(message: Parameters<JobSocket['send']>[0], ...payload: Uint8Array[]): void {
    this.socket?.send(message, ...payload);
  }

  private onMessage(message: Message, payload: Uint8Array): void {
    switch (message.t) {
      case 'refuse':
        return this.fail(new WorkerError('WORKER_ERR_REFUSED', `the coordinator refused this worker: ${message.reason}`, { cause: Object.assign(new Error(message.reason), { code: message.code }) }));
      case 'fail':
        return this.fail(new WorkerError('WORKER_ERR_JOB_FAILED', `the job failed: ${message.reason}`, { cause: Object.assign(new Error(message.reason), { code: message.code }) }));
      case 'state':
        this.resumeState = viewPayload('float32', payload).slice() as Float32Array;
        return;
      case 'testSet': {
        const sampleSize = message.inputShape.reduce((a, b) => a * b, 1);
        const x = viewPayload('float32', payload.subarray(0, message.count * sampleSize * 4)) as Float32Array;
        const y = viewPayload('int32', payload.subarray(message.count * sampleSize * 4)) as Int32Array;
        this.testSet = shareDataset(new ArrayDataset({ name: 'test', x, y, inputShape: message.inputShape, numClasses: message.numClasses }));
        this.waitingForTestSet.resolve?.();
        return;
      }
      case 'assign':
        this.start(message).catch((error: unknown) => this.failJob(error instanceof WorkerError ? error : new WorkerError('WORKER_ERR_RANK_FAILED', (error as Error).message, { cause: error })));
        return;
      case 'step':
        return this.relayStep(message, payload);
      case 'evaluate':
        if (message.generation === this.generation) this.toRanks(() => ({ kind: 'evaluate', generation: message.generation, epoch: message.epoch }));
        return;
      case 'halt':
        this.halt(message.generation).catch((error: unknown) => this.failJob(new WorkerError('WORKER_ERR_RANK_FAILED', `could not halt: ${(error as Error).message}`, { cause: error })));
        return;
      case 'regroup':
        this.regroup(message).catch((error: unknown) => this.failJob(error instanceof WorkerError ? error : new WorkerError('WORKER_ERR_RANK_FAILED', (error as Error).message, { cause: error })));
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

  private relayStep(message: StepMessage, payload: Uint8Array): void {
    if (this.pool === undefined || message.generation !== this.generation) return;
    const total = message.counts.reduce((a, b) => a + b, 0);
    const indices = viewPayload('int32', payload.subarray(0, total * 4)) as Int32Array;
    const xs = message.sampleSize > 0 ? (viewPayload('float32', payload.subarray(total * 4, total * 4 * (1 + message.sampleSize))) as Float32Array) : undefined;
    const ys = message.sampleSize > 0 ? (viewPayload('int32', payload.subarray(total * 4 * (1 + message.sampleSize))) as Int32Array) : undefined;
    let offset = 0;
    message.counts.forEach((count, r) => {
      const end = offset + count;
      this.pool?.send(r, {
        kind: 'step',
        generation: message.generation,
        step: message.step,
        epoch: message.epoch,
        globalCount: message.globalCount,
        indices: indices.slice(offset, end),
        ...(xs !== undefined && ys !== undefined ? { x: xs.slice(offset * message.sampleSize, end * message.sampleSize), y: ys.slice(offset, end) } : {}),
      });
      offset = end;
    });
  }

  /** The first assignment: data, model check, ring links, rank threads. */
  private async start(assign: AssignMessage): Promise<void> {
    const o = this.options;
    this.assignment = assign;
    this.generation = assign.generation;
    this.rankOffset = assign.rankOffset;
    if (assign.threads !== o.threads) throw new WorkerError('WORKER_ERR_PROTOCOL', `assigned ${assign.threads} ranks but this worker runs ${o.threads} threads`);
    // Before anything is imported or read: the model and data are this worker's own or bundled.
    const trusted = trustedJob(assign, o.own);
    o.log.info({ processRank: assign.processRank, ranks: `${assign.rankOffset}..${assign.rankOffset + assign.threads - 1}`, worldSize: assign.worldSize, generation: assign.generation, joining: assign.joining }, `assigned process rank ${assign.processRank} of ${assign.processCount}${assign.joining ? ' in a running job' : ''}`);
    let train: SharedDatasetHandle | undefined;
    if (trusted.localDataset !== undefined) {
      // In a thread of its own: loading takes seconds of CPU that the coordinator link cannot miss.
      const dataset = trusted.localDataset;
      const data = await loadSharedDataset({ spec: dataset, seed: assign.config.seed }, o.startupTimeoutMs);
      if (data.fingerprint !== assign.datasetFingerprint) {
        throw new WorkerError(
          'WORKER_ERR_DATA_MISMATCH',
          `the data set "${dataset}" here differs from the coordinator's "${assign.config.dataset.slice(0, 300)}" ` +
            `(fingerprint ${data.fingerprint.slice(0, 12)} vs ${assign.datasetFingerprint.slice(0, 12)})`,
        );
      }
      train = data.train;
      this.testSet = data.test;
    } else if (assign.rankOffset === 0 && this.testSet === undefined) {
      const arrived = new Promise<void>((resolve) => (this.waitingForTestSet.resolve = resolve));
      await withDeadline(arrived, o.startupTimeoutMs, () => new WorkerError('WORKER_ERR_PROTOCOL', 'the coordinator did not send the test set'));
    }
    const group = await this.link(assign);
    this.ranks = new LocalRanks(assign.threads, assign.generation, {
      onReady: (ready) => {
        const first = ready[0];
        this.send({ t: 'workerReady', backend: first?.backend.name ?? 'unknown', backendReason: first?.backend.reason ?? '', parameters: first?.parameters ?? 0 });
      },
      // LocalRanks passes on reports of the current generation only.
      onStep: (step, reports) => this.send({ t: 'stepDone', generation: this.generation, step, reports }),
      onEvaluated: (epoch, evaluation) => this.send({ t: 'evaluated', epoch, accuracy: evaluation?.accuracy ?? -1, loss: evaluation?.loss ?? -1, count: evaluation?.count ?? 0 }),
      onRegrouped: () => {
        const a = this.assignment;
        this.send({ t: 'workerReady', backend: a === undefined ? 'unknown' : 'regrouped', backendReason: `generation ${this.generation}`, parameters: 0 });
      },
      onCheckpoint: (step, { model, state }) => {
        const json = new TextEncoder().encode(model.modelJson);
        this.send({ t: 'checkpointData', step, jsonBytes: json.byteLength, weightsBytes: model.weights.byteLength }, json, model.weights, rawBytes(state));
      },
      onFinished: (all) => {
        const rank0 = all.find((f) => f.rank === 0);
        if (rank0?.model !== undefined) {
          const json = new TextEncoder().encode(rank0.model.modelJson);
          this.send({ t: 'model', jsonBytes: json.byteLength, accuracy: rank0.evaluation?.accuracy ?? 0, loss: rank0.evaluation?.loss ?? 0 }, json, rank0.model.weights);
        }
        this.send({ t: 'finished' });
        this.ended = true;
        this.resolveDone({ jobId: assign.jobId, processRank: assign.processRank, ranks: Array.from({ length: assign.threads }, (_, i) => this.rankOffset + i) });
      },
      onFailed: (error, fatal) => {
        // A collective failure is the ring's: the coordinator re-forms it. Anything else ends this worker's part.
        if (fatal) this.failJob(error);
        else this.send({ t: 'fail', code: rootCode(error), reason: error.message.slice(0, 1000), rank: error.rank ?? -1 });
      },
    });
    const testFaults = rankTestFaultsFromEnv();
    if (testFaults !== undefined) o.log.warn({ testFaults }, `${WRONG_SHARD_ENV} is set: this worker's ranks train wrong shards on purpose`);
    const inits: RankInit[] = Array.from({ length: assign.threads }, (_, localRank) => ({
      kind: 'init',
      rank: assign.rankOffset + localRank,
      localRank,
      worldSize: assign.worldSize,
      config: trusted.config,
      bnMode: assign.bnMode,
      backend: o.backend,
      ...(train === undefined ? {} : { train }),
      ...(this.testSet === undefined ? {} : { test: this.testSet }),
      inputShape: [...assign.inputShape],
      numClasses: assign.numClasses,
      communicator: group.handle,
      checkReplicasEvery: assign.checkReplicasEvery,
      generation: assign.generation,
      ...(localRank === 0 && assign.rankOffset === 0 && this.resumeState !== undefined ? { initialState: this.resumeState } : {}),
      ...(testFaults === undefined ? {} : { testFaults }),
    }));
    const ranks = this.ranks;
    this.pool = new RankPool(inits, (report) => ranks.receive(report));
  }

  /** Links to the ring's other processes (if any) and makes the thread group the ranks join. */
  private async link({ processRank, processCount, peers }: RingPlace): Promise<ThreadGroup> {
    const a = this.assignment;
    if (a === undefined) throw new WorkerError('WORKER_ERR_PROTOCOL', 'no assignment');
    const listener = this.listener;
    this.listener = undefined;
    if (processCount > 1) {
      if (listener === undefined) throw new WorkerError('WORKER_ERR_PROTOCOL', 'no peer listener');
      this.processGroup = await listener.connect({
        rank: processRank,
        size: processCount,
        peers,
        jobSecret: a.jobSecret,
        // Links of another job or of an older ring are refused.
        groupId: `${a.jobId}/g${this.generation}`,
        localSizes: [...peers].sort((p, q) => p.rank - q.rank).map((p) => p.threads),
        localSize: a.threads,
        connectTimeoutMs: this.options.startupTimeoutMs,
        opTimeoutMs: a.opTimeoutMs,
      });
    } else listener?.close();
    this.group = createThreadGroup({ threads: a.threads, process: this.processGroup, opTimeoutMs: a.opTimeoutMs, arenaBytes: GRADIENT_ARENA_BYTES });
    return this.group;
  }

  /** Stops the current ring (pending collectives fail at once) and opens a listener for the next. */
  private async halt(generation: number): Promise<void> {
    this.generation = generation;
    this.ranks?.startGeneration(generation);
    this.group?.abort(`halted for generation ${generation}`);
    this.group?.close();
    this.group = undefined;
    await this.processGroup?.close();
    this.processGroup = undefined;
    this.listener = await ProcessGroupListener.open({ host: this.options.listenHost, port: this.options.peerPort });
    this.send({ t: 'halted', generation, peerPort: this.listener.port, lastApplied: this.ranks?.lastStep ?? -1 });
    this.options.log.info({ generation }, `halted for generation ${generation}`);
  }

  private async regroup(message: Extract<Message, { t: 'regroup' }>): Promise<void> {
    if (message.generation !== this.generation) return;
    this.rankOffset = message.rankOffset;
    const group = await this.link(message);
    this.toRanks((r) => ({ kind: 'regroup', generation: message.generation, communicator: group.handle, rank: message.rankOffset + r, worldSize: message.worldSize, rollbackTo: message.rollbackTo, shareState: message.shareState }));
    this.options.log.info({ generation: message.generation, processRank: message.processRank, ranks: `${message.rankOffset}..${message.rankOffset + message.threads - 1}`, rollbackTo: message.rollbackTo }, `re-formed: process rank ${message.processRank} of ${message.processCount}, from step ${message.rollbackTo + 2}`);
  }

  private async teardown(): Promise<void> {
    this.group?.abort('the worker is leaving');
    await this.pool?.close();
    this.group?.close();
    await this.processGroup?.close().catch((error: unknown) => this.options.log.warn({ error: (error as Error).message }, 'closing the process group failed'));
    this.listener?.close();
    this.socket?.close(1000, 'worker done');
  }
}

/** The code of the innermost cause that has one. */
export function rootCode(error: Error): string {
  let code = 'WORKER_ERR_RANK_FAILED';
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const own = (e as { code?: unknown }).code;
    if (typeof own === 'string') code = own;
  }
  return code;
}
