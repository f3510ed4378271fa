import type { IncomingMessage, Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { modelDefinitionHash, openDataset, StepSchedule, writeModelFolder, type Dataset, type DatasetPair } from '@tfjs-ddp/data';
import { DEFAULT_FRAME_LIMITS, type DataSource, type Message } from '@tfjs-ddp/protocol';
import { SILENT_LOG, type CoordinatorLog, type CoordinatorOptions } from './coordinator-options.js';
import { CoordinatorError, type CoordinatorErrorCode } from './errors.js';
import { createHttpServer, type RouteHandler } from './http-server.js';
import { JobDriver, type EpochEvaluation, type JobEndpoint } from './job-driver.js';
import { JobSocket, rawBytes } from './job-socket.js';
import { MetricsLog, stepWallMs, type MetricsRecord } from './metrics-log.js';
import { assignRanks, worldSize } from './rank-assignment.js';
import { newSecret, tokenMatches } from './secrets.js';
import type { JobState, JobStatus } from './status.js';
import { describeSession, type WorkerSession } from './worker-session.js';

export interface CoordinatorResult {
  modelPath: string;
  metricsPath: string;
  test: EpochEvaluation;
  steps: number;
  samples: number;
  elapsedSec: number;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A rejection nobody awaits yet must not crash the process; run() awaits it.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        error.code === 'EADDRINUSE'
          ? new CoordinatorError('COORD_ERR_PORT_IN_USE', `port ${port} on ${host} is in use: stop what listens there or choose another --port`)
          : error,
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/**
 * The coordinator of one training job: admits workers (token, protocol version, job
 * id), waits for the expected number with a deadline, assigns ranks and ring peers,
 * shards every global batch over the ranks through the job driver (sending samples too
 * when it holds the data), writes metrics.jsonl and finally the trained model that rank
 * 0 sends. Serves /healthz and /status over HTTP on the same port. It never loads tfjs.
 */
export class Coordinator {
  readonly jobId: string;
  readonly port: number;
  private readonly log: CoordinatorLog;
  private readonly sessions = new Map<string, WorkerSession>();
  private readonly wss: WebSocketServer;
  private nextSession = 1;
  private state: JobState = 'waiting';
  private error: string | undefined;
  private startedAt: string | undefined;
  private readonly joined = deferred<void>();
  private readonly ready = deferred<void>();
  private driver: JobDriver | undefined;
  private model: { json: string; weights: Uint8Array; evaluation: EpochEvaluation } | undefined;
  private progress = { step: 0, epoch: 0, loss: null as number | null, accuracy: null as number | null, testAccuracy: null as number | null, samplesPerSec: 0, etaSec: null as number | null };
  private readonly schedule: StepSchedule;
  private rankRestarts = 0;
  private readonly recordListeners = new Set<(record: MetricsRecord) => void>();

  private constructor(
    private readonly options: CoordinatorOptions & { dataSource: DataSource },
    private readonly server: Server,
    private readonly routes: Map<string, RouteHandler>,
    port: number,
    private readonly data: DatasetPair,
    private readonly modelHash: string,
  ) {
    this.jobId = options.jobId ?? randomBytes(6).toString('hex');
    this.port = port;
    this.log = options.log ?? SILENT_LOG;
    this.schedule = new StepSchedule({ size: data.train.size, globalBatch: options.config.globalBatch, seed: options.config.seed, epochs: options.config.epochs, maxSteps: options.config.maxSteps });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: DEFAULT_FRAME_LIMITS.maxPayloadBytes + DEFAULT_FRAME_LIMITS.maxHeaderBytes + 8 });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(request, socket, head));
  }

  /** Loads the data set (for sampling, fingerprints and, if asked, streaming) and starts listening. */
  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new CoordinatorError('COORD_ERR_BAD_OPTION', `workers must be a positive integer, got ${options.workers}`);
    }
    const data = openDataset(options.config.dataset, options.config.seed);
    const modelHash = modelDefinitionHash(options.config.model, options.config);
    // The HTTP server exists before the coordinator it reports on: /status reads it through this reference.
    const ref: { coordinator?: Coordinator } = {};
    const routes = new Map<string, RouteHandler>();
    const server = createHttpServer({ status: () => (ref.coordinator as Coordinator).status(), extra: routes });
    const port = await listen(server, options.port ?? 7070, options.host ?? '0.0.0.0');
    const coordinator = new Coordinator({ ...options, dataSource: options.dataSource ?? 'local' }, server, routes, port, data, modelHash);
    ref.coordinator = coordinator;
    coordinator.log.info({ port, jobId: coordinator.jobId, workers: options.workers }, `coordinator listening on port ${port}; waiting for ${options.workers} worker(s)`);
    return coordinator;
  }

  /** Waits for the workers, runs the job, writes the model; closes everything at the end. */
  async run(): Promise<CoordinatorResult> {
    const o = this.options;
    try {
      await this.waitForWorkers();
      this.assign();
      this.state = 'starting';
      await this.within(this.ready.promise, o.readyTimeoutMs ?? 300_000, 'COORD_ERR_WORKERS_MISSING', () => `not every worker loaded its backend, data and model within ${Math.round((o.readyTimeoutMs ?? 300_000) / 1000)} s (not ready: ${this.members().filter((s) => s.state !== 'ready').map(describeSession).join(', ')})`);
      this.state = 'training';
      this.startedAt = new Date().toISOString();
      const metrics = new MetricsLog(o.outDir);
      const members = this.members();
      const driver = new JobDriver({
        schedule: this.schedule,
        endpoints: members.map((session) => this.endpoint(session)),
        balance: o.balance,
        prefetch: o.prefetch,
        stepTimeoutMs: o.stepTimeoutMs,
        hooks: {
          onStep: (progress, reports) => {
            this.emit(metrics.step(progress, reports));
            Object.assign(this.progress, { step: progress.step, epoch: progress.epoch, loss: progress.loss, accuracy: progress.accuracy, samplesPerSec: progress.samplesPerSec, etaSec: progress.etaSec });
            for (const s of members) {
              const assigned = s.assigned;
              if (assigned === undefined) continue;
              const own = reports.filter((r) => r.rank >= assigned.rankOffset && r.rank < assigned.rankOffset + assigned.threads);
              s.lastStepMs = Math.max(0, ...own.map(stepWallMs));
            }
            o.hooks?.onStep?.(progress, reports);
          },
          onEpochEnd: (epoch, evaluation) => {
            this.emit(metrics.epoch(epoch, evaluation));
            this.progress.testAccuracy = evaluation.accuracy;
            o.hooks?.onEpochEnd?.(epoch, evaluation);
          },
        },
      });
      this.driver = driver;
      const result = await driver.run();
      const model = this.model;
      if (model === undefined) throw new CoordinatorError('COORD_ERR_WORKER_FAILED', 'the worker hosting rank 0 finished without sending the model');
      const modelPath = writeModelFolder(o.outDir, model.json, model.weights);
      this.state = 'finished';
      this.log.info({ modelPath, testAccuracy: model.evaluation.accuracy }, `job ${this.jobId} finished; model saved to ${modelPath}`);
      return { modelPath, metricsPath: metrics.file, test: model.evaluation, steps: result.steps, samples: result.samples, elapsedSec: result.elapsedSec };
    } catch (error) {
      this.state = 'failed';
      this.error = (error as Error).message;
      const code = (error as { code?: string }).code ?? 'COORD_ERR_WORKER_FAILED';
      for (const s of this.sessions.values()) s.socket.send({ t: 'fail', code, reason: this.error.slice(0, 1000), rank: -1 });
      throw error;
    } finally {
      await this.close();
    }
  }

  /** Serves `handler` at `path` (exact match, GET) on the coordinator's HTTP port: the dashboard and /metrics. */
  addRoute(path: string, handler: RouteHandler): void {
    this.routes.set(path, handler);
  }

  /** Calls `listener` with every metrics record (each step, each epoch) as it is written. */
  onRecord(listener: (record: MetricsRecord) => void): () => void {
    this.recordListeners.add(listener);
    return () => this.recordListeners.delete(listener);
  }

  private emit(record: MetricsRecord): void {
    for (const listener of this.recordListeners) listener(record);
  }

  status(): JobStatus {
    const c = this.options.config;
    return {
      job: {
        id: this.jobId,
        model: c.model,
        dataset: c.dataset,
        bnMode: this.options.bnMode ?? 'sync',
        globalBatch: c.globalBatch,
        epochs: c.epochs,
        dataSource: this.options.dataSource,
        balance: this.options.balance ?? 'even',
        state: this.state,
        ...(this.error === undefined ? {} : { error: this.error }),
        ...(this.startedAt === undefined ? {} : { startedAt: this.startedAt }),
        parameters: this.members().find((m) => m.ready !== undefined)?.ready?.parameters ?? null,
        rankRestarts: this.rankRestarts,
      },
      step: this.progress.step,
      totalSteps: this.schedule.totalSteps,
      epoch: this.progress.epoch,
      loss: this.progress.loss,
      accuracy: this.progress.accuracy,
      testAccuracy: this.progress.testAccuracy,
      samplesPerSec: this.progress.samplesPerSec,
      etaSec: this.progress.etaSec,
      expectedWorkers: this.options.workers,
      workers: [...this.sessions.values()]
        .filter((s) => s.join !== undefined)
        .map((s) => ({
          id: s.id,
          host: s.join?.host ?? '',
          processRank: s.assigned?.processRank ?? null,
          ranks: s.assigned === undefined ? [] : Array.from({ length: s.assigned.threads }, (_, i) => (s.assigned?.rankOffset ?? 0) + i),
          threads: s.join?.threads ?? 0,
          backend: s.ready?.backend ?? null,
          lastStepMs: s.lastStepMs,
          state: s.state === 'closed' ? 'lost' : s.state === 'ready' && this.state === 'training' ? 'training' : s.state === 'ready' ? 'ready' : 'connected',
        })),
    };
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) {
      clearTimeout(s.handshakeTimer);
      s.socket.close(1001, 'coordinator closing');
    }
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The joined workers that take part in the job, in ring order once assigned. */
  private members(): WorkerSession[] {
    const joined = [...this.sessions.values()].filter((s) => s.join !== undefined && s.state !== 'closed');
    return joined.sort((a, b) => (a.assigned?.processRank ?? 0) - (b.assigned?.processRank ?? 0));
  }

  private async waitForWorkers(): Promise<void> {
    const o = this.options;
    const timeoutMs = o.waitTimeoutMs ?? 300_000;
    const reminder = setInterval(() => {
      const present = this.members();
      o.hooks?.onWaiting?.(present.length, o.workers);
      this.log.info({ joined: present.map(describeSession) }, `waiting for workers: ${present.length} of ${o.workers} joined`);
    }, 10_000);
    try {
      await this.within(this.joined.promise, timeoutMs, 'COORD_ERR_WORKERS_MISSING', () => {
        const present = this.members();
        const missing = o.workers - present.length;
        return `only ${present.length} of ${o.workers} workers joined within ${Math.round(timeoutMs / 1000)} s${present.length > 0 ? ` (joined: ${present.map(describeSession).join(', ')})` : ''}; ${missing} never connected to port ${this.port} with the job's token: check the workers' --coordinator URL, their token and the network`;
      });
    } finally {
      clearInterval(reminder);
    }
  }

  private within<T>(promise: Promise<T>, ms: number, code: CoordinatorErrorCode, message: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new CoordinatorError(code, message())), ms);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error as Error);
        },
      );
    });
  }

  private assign(): void {
    const o = this.options;
    const members = this.members();
    const assigned = assignRanks(members.map((s) => ({ id: s.id, host: s.join?.host ?? '', peerPort: s.join?.peerPort ?? 0, threads: s.join?.threads ?? 1 })));
    const peers = assigned.map((a) => ({ rank: a.processRank, host: a.host, port: a.peerPort }));
    const jobSecret = newSecret();
    const size = worldSize(assigned);
    for (const a of assigned) {
      const session = this.sessions.get(a.id);
      if (session === undefined) continue;
      session.assigned = a;
      session.socket.send({
        t: 'assign',
        jobId: this.jobId,
        jobSecret,
        processRank: a.processRank,
        processCount: assigned.length,
        rankOffset: a.rankOffset,
        threads: a.threads,
        worldSize: size,
        peers,
        config: o.config,
        bnMode: o.bnMode ?? 'sync',
        dataSource: o.dataSource,
        datasetFingerprint: this.data.train.fingerprint(),
        inputShape: [...this.data.train.inputShape],
        numClasses: this.data.train.numClasses,
        modelHash: this.modelHash,
        checkReplicasEvery: o.checkReplicasEvery ?? 0,
        opTimeoutMs: o.opTimeoutMs ?? 120_000,
      });
      if (o.dataSource === 'coordinator' && a.rankOffset === 0) this.sendTestSet(session, this.data.test);
    }
    this.log.info({ workers: assigned.map((a) => ({ id: a.id, host: a.host, processRank: a.processRank, ranks: `${a.rankOffset}..${a.rankOffset + a.threads - 1}` })), worldSize: size }, `assigned ${size} ranks over ${assigned.length} worker(s)`);
  }

  private sendTestSet(session: WorkerSession, test: Dataset): void {
    const all = test.batch(Int32Array.from({ length: test.size }, (_, i) => i));
    session.socket.send({ t: 'testSet', count: all.count, inputShape: [...test.inputShape], numClasses: test.numClasses }, rawBytes(all.x), rawBytes(all.y));
  }

  private endpoint(session: WorkerSession): JobEndpoint {
    const assigned = session.assigned;
    if (assigned === undefined) throw new CoordinatorError('COORD_ERR_BAD_OPTION', `${session.id} has no ranks`);
    const streamed = this.options.dataSource === 'coordinator';
    const sampleSize = this.data.train.inputShape.reduce((a, b) => a * b, 1);
    return {
      rankOffset: assigned.rankOffset,
      ranks: assigned.threads,
      sendStep: ({ step, epoch, globalCount, shards }) => {
        const counts = shards.map((s) => s.length);
        const indices = new Int32Array(counts.reduce((a, b) => a + b, 0));
        let offset = 0;
        for (const s of shards) {
          indices.set(s, offset);
          offset += s.length;
        }
        if (!streamed) {
          session.socket.send({ t: 'step', step, epoch, globalCount, counts, sampleSize: 0 }, rawBytes(indices));
          return;
        }
        const batch = this.data.train.batch(indices);
        session.socket.send({ t: 'step', step, epoch, globalCount, counts, sampleSize }, rawBytes(indices), rawBytes(batch.x), rawBytes(batch.y));
      },
      sendEvaluate: (epoch) => session.socket.send({ t: 'evaluate', epoch }),
      sendFinish: () => session.socket.send({ t: 'finish' }),
    };
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const open = [...this.sessions.values()].filter((s) => s.state !== 'closed').length;
    if (open >= (this.options.maxConnections ?? 256)) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request));
  }

  private accept(ws: WebSocket, request: IncomingMessage): void {
    const id = `w${this.nextSession++}`;
    const remote = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`;
    // The socket's handlers need the session, and the session holds the socket.
    const ref: { session?: WorkerSession } = {};
    const socket = new JobSocket(ws, {
      message: (message, payload) => ref.session !== undefined && this.onMessage(ref.session, message, payload),
      invalid: (error) => ref.session !== undefined && this.onInvalid(ref.session, error),
      close: () => ref.session !== undefined && this.onClose(ref.session),
    });
    const session: WorkerSession = { id, socket, remote, state: 'joining', lastStepMs: null };
    ref.session = session;
    const s = session;
    s.handshakeTimer = setTimeout(() => this.refuse(s, 'COORD_ERR_HANDSHAKE_TIMEOUT', `no join message within ${Math.round((this.options.handshakeTimeoutMs ?? 10_000) / 1000)} s`), this.options.handshakeTimeoutMs ?? 10_000);
    this.sessions.set(id, session);
  }

  private refuse(session: WorkerSession, code: string, reason: string): void {
    clearTimeout(session.handshakeTimer);
    this.log.warn({ worker: describeSession(session), code }, `refused ${session.id}: ${reason}`);
    session.socket.send({ t: 'refuse', code, reason });
    session.socket.close(1008, code);
    // Forget it: it never was part of the job.
    session.state = 'closed';
    this.sessions.delete(session.id);
  }

  private onInvalid(session: WorkerSession, error: Error): void {
    const code = (error as { code?: string }).code ?? 'PROTOCOL_ERR_DECODE';
    if (session.join === undefined) {
      this.refuse(session, code, error.message);
      return;
    }
    session.socket.send({ t: 'fail', code, reason: error.message, rank: -1 });
    session.socket.close(1008, code);
    this.lose(session, `${describeSession(session)} sent an invalid message (${code}: ${error.message})`);
  }

  private onMessage(session: WorkerSession, message: Message, payload: Uint8Array): void {
    if (session.state === 'joining') {
      if (message.t !== 'join') {
        this.refuse(session, 'COORD_ERR_UNEXPECTED_MESSAGE', `expected join, got ${message.t}`);
        return;
      }
      clearTimeout(session.handshakeTimer);
      if (!tokenMatches(message.token, this.options.token)) {
        this.refuse(session, 'COORD_ERR_BAD_TOKEN', 'wrong job token');
        return;
      }
      if (message.jobId !== '' && message.jobId !== this.jobId) {
        this.refuse(session, 'COORD_ERR_WRONG_JOB', `this coordinator runs job ${this.jobId}, not ${message.jobId}`);
        return;
      }
      if (this.state !== 'waiting' || this.members().length >= this.options.workers) {
        this.refuse(session, 'COORD_ERR_JOB_FULL', `job ${this.jobId} already has its ${this.options.workers} worker(s)`);
        return;
      }
      session.join = message;
      session.state = 'joined';
      this.log.info({ worker: describeSession(session) }, `worker ${describeSession(session)} joined (${this.members().length} of ${this.options.workers})`);
      if (this.members().length === this.options.workers) this.joined.resolve();
      return;
    }
    switch (message.t) {
      case 'workerReady':
        if (session.state !== 'joined' || session.assigned === undefined) break;
        session.ready = message;
        session.state = 'ready';
        this.log.info({ worker: describeSession(session), backend: message.backend, reason: message.backendReason }, `worker ${session.id} ready (${message.backend})`);
        if (this.members().every((s) => s.state === 'ready')) this.ready.resolve();
        return;
      case 'stepDone':
        if (session.state !== 'ready' || !this.ownsRanks(session, message.reports.map((r) => r.rank))) break;
        this.driver?.stepDone(message.step, message.reports);
        return;
      case 'evaluated':
        if (session.state !== 'ready' || session.assigned === undefined) break;
        this.driver?.evaluated(session.assigned.processRank, message.epoch, message.accuracy >= 0 ? { accuracy: message.accuracy, loss: message.loss, count: message.count } : undefined);
        return;
      case 'model':
        if (session.state !== 'ready' || session.assigned?.rankOffset !== 0) break;
        this.model = {
          json: new TextDecoder().decode(payload.subarray(0, message.jsonBytes)),
          weights: payload.slice(message.jsonBytes),
          evaluation: { accuracy: message.accuracy, loss: message.loss, count: this.data.test.size },
        };
        return;
      case 'finished':
        if (session.state !== 'ready' || session.assigned === undefined) break;
        session.state = 'finished';
        this.driver?.finished(session.assigned.processRank);
        return;
      case 'fail': {
        const error = new CoordinatorError('COORD_ERR_WORKER_FAILED', `worker ${describeSession(session)} failed: ${message.reason}`, { cause: Object.assign(new Error(message.reason), { code: message.code }) });
        this.failJob(error);
        return;
      }
      default:
        break;
    }
    this.onInvalid(session, Object.assign(new Error(`unexpected ${message.t} from a worker in state ${session.state}`), { code: 'COORD_ERR_UNEXPECTED_MESSAGE' }));
  }

  private ownsRanks(session: WorkerSession, ranks: number[]): boolean {
    const a = session.assigned;
    return a !== undefined && ranks.every((r) => r >= a.rankOffset && r < a.rankOffset + a.threads);
  }

  private onClose(session: WorkerSession): void {
    clearTimeout(session.handshakeTimer);
    const wasMember = session.join !== undefined && session.state !== 'finished';
    const before = session.state;
    session.state = 'closed';
    if (!wasMember) return;
    if (this.state === 'waiting' && before === 'joined' && session.assigned === undefined) {
      // Left before the job started: it simply is no longer counted.
      this.sessions.delete(session.id);
      this.log.warn({ worker: describeSession(session) }, `worker ${describeSession(session)} left before the job started`);
      return;
    }
    this.lose(session, `lost worker ${describeSession(session)}: its connection closed`);
  }

  private lose(session: WorkerSession, reason: string): void {
    session.state = 'closed';
    if (this.state === 'finished' || this.state === 'failed') return;
    this.failJob(new CoordinatorError('COORD_ERR_WORKER_LOST', reason));
  }

  private failJob(error: Error): void {
    this.log.error({ code: (error as { code?: string }).code }, error.message);
    this.joined.reject(error);
    this.ready.reject(error);
    this.driver?.fail(error);
  }
}
