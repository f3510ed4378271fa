import type { IncomingMessage, Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { modelDefinitionHash, openDataset, ProgressTracker, StepSchedule, writeModelFolder, type Dataset, type DatasetPair } from '@tfjs-ddp/data';
import { bytesOf, SILENT_LOG, type DataSource, type Message, type PeerEntry, type StructuredLog } from '@tfjs-ddp/protocol';
import type { CoordinatorOptions } from './coordinator-options.js';
import { CoordinatorError, type CoordinatorErrorCode } from './errors.js';
import { createHttpServer, listen, type RouteHandler } from './http-server.js';
import type { StoredCheckpoint } from './checkpoint/checkpoint-types.js';
import { findResumePoint, JobCheckpoints } from './checkpoint/job-checkpoints.js';
import { JobDriver, type EpochEvaluation } from './job-driver.js';
import { MetricsLog, stepWallMs, type MetricsRecord } from './metrics-log.js';
import { assignRanks, worldSize, type AssignedWorker } from './rank-assignment.js';
import { SampleLedger, type EpochAccount } from './sample-ledger.js';
import { ProgressWatch, type Readiness, type ReadinessLimits } from './readiness.js';
import { newSecret } from './secrets.js';
import type { JobState, JobStatus } from './status.js';
import { workerEndpoint } from './worker-endpoint.js';
import { describeSession, workerStatus, type WorkerSession } from './worker-session.js';
import { WorkerSessions } from './worker-sessions.js';

export interface CoordinatorResult {
  modelPath: string;
  metricsPath: string;
  test: EpochEvaluation;
  steps: number;
  samples: number;
  elapsedSec: number;
  /** How often each sample of each epoch was trained (exactly once, across failures). */
  ledger: EpochAccount[];
  /** Regroups the job went through (lost or joining workers). */
  generations: number;
}

/** Failures the job survives by re-forming the ring without the culprit. */
const RECOVERABLE: ReadonlySet<string> = new Set(['COORD_ERR_WORKER_LOST', 'COORD_ERR_RING_FAILED']);

/**
 * The coordinator of one training job: admits workers (token, protocol version, job
 * id), waits for the expected number with a deadline, assigns ranks and ring peers,
 * shards every global batch over the ranks through the job driver (sending samples too
 * when it holds the data), and writes metrics.jsonl and the model rank 0 sends. It is
 * elastic: a lost worker (closed socket, silent heartbeat, failed ring) ends the step in
 * flight everywhere; the survivors roll back to the last step every rank reported, form
 * a new ring, and training goes on with the same global batches; a worker that joins
 * during training enters at a step boundary and takes rank 0's state. It never loads tfjs.
 */
export class Coordinator {
  readonly jobId: string;
  readonly port: number;
  private readonly log: StructuredLog;
  private readonly workers: WorkerSessions;
  private readonly schedule: StepSchedule;
  private readonly ledger: SampleLedger;
  private readonly checkpoints: JobCheckpoints;
  private readonly jobSecret = newSecret();
  private readonly recordListeners = new Set<(record: MetricsRecord) => void>();
  private readonly waiters = new Set<() => void>();
  private state: JobState = 'waiting';
  private error: string | undefined;
  private startedAt: string | undefined;
  private generation = 0;
  private rankRestarts = 0;
  private driver: JobDriver | undefined;
  private model: { json: string; weights: Uint8Array; evaluation: EpochEvaluation } | undefined;
  private jobFailure: Error | undefined;
  private metricsLog: MetricsLog | undefined;
  /** The job's deadlines with their defaults, resolved once: the waits and /readyz judge by the same numbers. */
  private readonly deadlines: ReadinessLimits;
  /** For /readyz: when the state and the step last changed. */
  private readonly progressWatch: ProgressWatch;
  private progress = { step: 0, epoch: 0, loss: null as number | null, accuracy: null as number | null, testAccuracy: null as number | null, samplesPerSec: 0, etaSec: null as number | null };

  private constructor(
    private readonly options: CoordinatorOptions & { dataSource: DataSource },
    private readonly server: Server,
    private readonly routes: Map<string, RouteHandler>,
    port: number,
    private readonly data: DatasetPair,
    private readonly modelHash: string,
    /** The checkpoint a resumed run starts from: its `step` steps are already trained. */
    private readonly resumeFrom: StoredCheckpoint | undefined,
  ) {
    this.jobId = options.jobId ?? randomBytes(6).toString('hex');
    this.port = port;
    this.log = options.log ?? SILENT_LOG;
    this.deadlines = {
      waitTimeoutMs: options.waitTimeoutMs ?? 300_000,
      readyTimeoutMs: options.readyTimeoutMs ?? 300_000,
      rejoinTimeoutMs: options.rejoinTimeoutMs ?? 60_000,
      stepTimeoutMs: options.stepTimeoutMs ?? 300_000,
    };
    this.progressWatch = new ProgressWatch(this.deadlines);
    const c = options.config;
    this.schedule = new StepSchedule({ size: data.train.size, globalBatch: c.globalBatch, seed: c.seed, epochs: c.epochs, maxSteps: c.maxSteps });
    this.ledger = new SampleLedger(this.schedule, data.train.size);
    this.checkpoints = new JobCheckpoints({ runDir: options.outDir, schedule: this.schedule, config: c, every: options.checkpointEvery ?? 0, keep: options.keepCheckpoints, log: this.log });
    this.workers = new WorkerSessions(
      {
        jobId: this.jobId,
        token: options.token,
        workers: options.workers,
        handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
        maxConnections: options.maxConnections ?? 256,
        heartbeatMs: options.heartbeatMs ?? 1000,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 3000,
        log: this.log,
        jobState: () => this.state,
      },
      {
        admitted: (session) => this.admitted(session),
        message: (session, message, payload) => this.onMessage(session, message, payload),
        invalid: (session, reason) => this.lose(session, reason),
        lost: (session, reason) => this.lose(session, reason),
      },
    );
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.workers.upgrade(request, socket, head));
  }

  /** Loads the data set (for sampling, fingerprints and, if asked, streaming) and starts listening. */
  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new CoordinatorError('COORD_ERR_BAD_OPTION', `workers must be a positive integer, got ${options.workers}`);
    }
    const minWorkers = options.minWorkers ?? 1;
    if (!Number.isInteger(minWorkers) || minWorkers < 1 || minWorkers > options.workers) {
      throw new CoordinatorError('COORD_ERR_BAD_OPTION', `min-workers must be an integer in 1..${options.workers} (the workers), got ${minWorkers}`);
    }
    // A checkpoint that cannot be resumed is refused before anything listens.
    const resumeFrom = options.resume === undefined ? undefined : await findResumePoint(options.resume, options.config, options.resumeFallback ?? false, options.log ?? SILENT_LOG);
    const data = openDataset(options.config.dataset, options.config.seed);
    const modelHash = modelDefinitionHash(options.config.model, options.config);
    // The HTTP server exists before the coordinator it reports on: /status reads it through this reference.
    const ref: { coordinator?: Coordinator } = {};
    const routes = new Map<string, RouteHandler>();
    const server = createHttpServer(
      { status: () => (ref.coordinator as Coordinator).status(), readiness: () => (ref.coordinator as Coordinator).readiness(), extra: routes },
      options.tls,
    );
    const port = await listen(server, options.port ?? 7070, options.host ?? '0.0.0.0');
    const coordinator = new Coordinator({ ...options, dataSource: options.dataSource ?? 'local' }, server, routes, port, data, modelHash, resumeFrom);
    ref.coordinator = coordinator;
    coordinator.log.info({ port, jobId: coordinator.jobId, workers: options.workers, tls: options.tls !== undefined }, `coordinator listening on port ${port}${options.tls === undefined ? '' : ' (TLS: wss:// and https://)'}; waiting for ${options.workers} worker(s)`);
    return coordinator;
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

  /** Waits for the workers, runs the job through every regroup, writes the model; closes everything at the end. */
  async run(): Promise<CoordinatorResult> {
    const o = this.options;
    try {
      const waitMs = this.deadlines.waitTimeoutMs;
      const deadline = performance.now() + waitMs;
      // A worker can leave between the last join and this continuation: count again.
      do {
        await this.until('joining', () => this.workers.joined().length >= o.workers, Math.max(1, deadline - performance.now()), 'COORD_ERR_WORKERS_MISSING', () => this.missingMessage(waitMs));
      } while (this.workers.joined().length < o.workers);
      this.state = 'starting';
      this.form(this.workers.joined(), [], -1, false);
      await this.untilReady();
      this.state = 'training';
      this.startedAt = new Date().toISOString();
      let startStep = this.resumeFrom?.step ?? 0;
      const metrics = new MetricsLog(o.outDir, { append: startStep > 0, log: this.log });
      this.metricsLog = metrics;
      const tracker = new ProgressTracker(this.schedule.stepsPerEpoch, this.schedule.totalSteps, startStep);
      // The checkpoint's steps were committed by the run it continues.
      this.ledger.commitUpTo(startStep);
      let evaluateFirst: number | undefined;
      let recoveries = 0;
      for (;;) {
        const driver = this.newDriver(metrics, tracker, startStep, evaluateFirst);
        this.driver = driver;
        try {
          const result = await driver.run();
          if (!result.paused) return await this.finish(metrics, result.steps, result.samples, result.elapsedSec);
          startStep = result.steps;
          evaluateFirst = undefined;
          recoveries = 0;
          await this.regroup(startStep - 1, 'workers join');
        } catch (error) {
          const code = (error as { code?: string }).code ?? '';
          if (!RECOVERABLE.has(code)) throw error;
          const committed = driver.lastCompletedStep;
          recoveries = committed + 1 > startStep ? 0 : recoveries + 1;
          if (recoveries >= (o.maxRecoveries ?? 5)) throw new CoordinatorError('COORD_ERR_WORKER_FAILED', `gave up after ${recoveries} regroups without progress; last failure: ${(error as Error).message}`, { cause: error });
          // A failure between an epoch's last step and its evaluation: ask again.
          const last = committed >= 0 ? this.schedule.at(committed) : undefined;
          evaluateFirst = last?.endsEpoch && last.epoch > (this.lastEvaluatedEpoch ?? -1) ? last.epoch : undefined;
          startStep = committed + 1;
          this.jobFailure = undefined;
          await this.regroup(committed, (error as Error).message);
        }
      }
    } catch (error) {
      this.state = 'failed';
      this.error = (error as Error).message;
      const code = (error as { code?: string }).code ?? 'COORD_ERR_WORKER_FAILED';
      for (const s of this.workers.all()) s.socket.send({ t: 'fail', code, reason: this.error.slice(0, 1000), rank: -1 });
      this.log.error({ code }, this.error);
      throw error;
    } finally {
      await this.checkpoints.flush();
      await this.close();
    }
  }

  private lastEvaluatedEpoch: number | undefined;

  private newDriver(metrics: MetricsLog, tracker: ProgressTracker, startStep: number, evaluateFirst: number | undefined): JobDriver {
    const o = this.options;
    const ring = this.workers.ring();
    return new JobDriver({
      schedule: this.schedule,
      startStep,
      evaluateFirst,
      tracker,
      endpoints: ring.map((session) =>
        workerEndpoint(session, { generation: this.generation, streamFrom: o.dataSource === 'coordinator' ? this.data.train : undefined, checkpointAfter: (step) => this.checkpoints.wants(step) }),
      ),
      balance: o.balance,
      prefetch: o.prefetch,
      stepTimeoutMs: this.deadlines.stepTimeoutMs,
      onCommit: (step, reports, shards) => this.ledger.commit(step, reports, shards),
      hooks: {
        onStep: (progress, reports) => {
          this.emit(metrics.step(progress, reports));
          Object.assign(this.progress, { step: progress.step, epoch: progress.epoch, loss: progress.loss, accuracy: progress.accuracy, samplesPerSec: progress.samplesPerSec, etaSec: progress.etaSec });
          for (const s of ring) {
            const a = s.assigned;
            if (a !== undefined) s.lastStepMs = Math.max(0, ...reports.filter((r) => r.rank >= a.rankOffset && r.rank < a.rankOffset + a.threads).map(stepWallMs));
          }
          o.hooks?.onStep?.(progress, reports);
          // Workers waiting to join enter at the next step boundary.
          if (this.workers.pendingJoiners().length > 0 && this.workers.ring().length < o.workers) void this.driver?.pause();
        },
        onEpochEnd: (epoch, evaluation) => {
          this.lastEvaluatedEpoch = epoch;
          this.emit(metrics.epoch(epoch, evaluation));
          this.progress.testAccuracy = evaluation.accuracy;
          o.hooks?.onEpochEnd?.(epoch, evaluation);
        },
      },
    });
  }

  private async finish(metrics: MetricsLog, steps: number, samples: number, elapsedSec: number): Promise<CoordinatorResult> {
    const model = this.model;
    if (model === undefined) throw new CoordinatorError('COORD_ERR_WORKER_FAILED', 'the worker hosting rank 0 finished without sending the model');
    await this.checkpoints.flush();
    let modelPath: string;
    try {
      modelPath = await writeModelFolder(this.options.outDir, model.json, model.weights);
    } catch (cause) {
      const kept = this.checkpoints.lastWritten > 0 ? `the checkpoint of step ${this.checkpoints.lastWritten} keeps the training (--resume)` : 'no checkpoint was written';
      throw new CoordinatorError('COORD_ERR_MODEL_WRITE', `all ${steps} steps trained, but the model could not be saved: ${(cause as Error).message}; ${kept}`, { cause });
    }
    this.state = 'finished';
    this.log.info({ modelPath, testAccuracy: model.evaluation.accuracy, generations: this.generation }, `job ${this.jobId} finished; model saved to ${modelPath}`);
    return { modelPath, metricsPath: metrics.file, test: model.evaluation, steps, samples, elapsedSec, ledger: this.ledger.accounts(), generations: this.generation };
  }

  /**
   * A new ring after a loss or for joiners: survivors halt (pending collectives fail),
   * roll back to the state after `committed` and link to their new peers; joiners load
   * the model and take rank 0's state with them. Waits for enough workers first.
   */
  private async regroup(committed: number, reason: string): Promise<void> {
    const o = this.options;
    this.state = 'recovering';
    this.generation++;
    const generation = this.generation;
    const minWorkers = o.minWorkers ?? 1;
    this.log.warn({ generation, committed, reason }, `re-forming the ring (generation ${generation}) after step ${committed + 1}: ${reason}`);
    const enough = (): boolean => this.workers.ring().filter((s) => s.state !== 'closed').length + this.workers.pendingJoiners().length >= minWorkers;
    if (!enough()) {
      const timeoutMs = this.deadlines.rejoinTimeoutMs;
      try {
        await this.until('rejoining', enough, timeoutMs, 'COORD_ERR_WORKERS_MISSING', () => `only ${this.workers.ring().length + this.workers.pendingJoiners().length} worker(s) left, fewer than --min-workers ${minWorkers}, and none joined within ${Math.round(timeoutMs / 1000)} s; the last committed step is ${committed + 1}`);
      } catch (error) {
        // Stopping for good: the survivors still hold the committed state; keep it for --resume.
        await this.checkpointSurvivors(committed, reason).catch((failure: unknown) => this.log.error({ committed }, `no checkpoint of step ${committed + 1} from the survivors: ${(failure as Error).message}`));
        throw error;
      }
    }
    const remaining = await this.haltRing(committed, reason);
    const joiners = this.workers.pendingJoiners().slice(0, Math.max(0, o.workers - remaining.length));
    this.form(remaining, joiners, committed, true);
    await this.untilReady();
    this.state = 'training';
    o.onMembership?.({ kind: 'regrouped', generation, workers: remaining.length + joiners.length, fromStep: committed + 1 });
    this.log.info({ generation, workers: remaining.length + joiners.length, fromStep: committed + 1 }, `ring re-formed with ${remaining.length + joiners.length} worker(s); training goes on from step ${committed + 2}`);
  }

  /** Halts the workers of the ring for the current generation; resolves with those that halted. */
  private async haltRing(committed: number, reason: string): Promise<WorkerSession[]> {
    const generation = this.generation;
    const survivors = this.workers.ring();
    for (const s of survivors) {
      s.state = 'halting';
      s.halted = undefined;
      s.socket.send({ t: 'halt', generation, reason: reason.slice(0, 1000) });
    }
    await this.until('halting', () => survivors.every((s) => s.state === 'halted' || s.state === 'closed'), 60_000, 'COORD_ERR_WORKER_LOST', () => `workers did not halt: ${survivors.filter((s) => s.state !== 'halted').map(describeSession).join(', ')}`);
    const remaining = survivors.filter((s) => s.state === 'halted');
    if (remaining.length === 0) {
      throw new CoordinatorError('COORD_ERR_WORKERS_MISSING', `no worker survived (the last committed step is ${committed + 1}): ${reason}`);
    }
    return remaining;
  }

  /**
   * Too few workers are left to go on: re-forms the survivors alone (rolled back to
   * `committed`) and writes their checkpoint of it, unless one is already written.
   */
  private async checkpointSurvivors(committed: number, reason: string): Promise<void> {
    if (committed < 0 || this.checkpoints.lastWritten >= committed + 1) return;
    const remaining = await this.haltRing(committed, reason);
    this.form(remaining, [], committed, true);
    await this.untilReady();
    const generation = this.generation;
    for (const s of this.workers.ring()) s.socket.send({ t: 'checkpointRequest', generation, step: committed });
    await this.until('checkpointing', () => this.checkpoints.lastReceived >= committed, 60_000, 'COORD_ERR_WORKER_LOST', () => `the surviving workers sent no checkpoint of step ${committed + 1}`);
    await this.checkpoints.flush();
    if (this.checkpoints.lastWritten < committed + 1) {
      this.log.error({ committed, workers: remaining.length, cause: this.checkpoints.lastFailure?.error }, `stopping: the checkpoint of step ${committed + 1} from the surviving worker(s) FAILED to be written; --resume continues from step ${this.checkpoints.lastWritten}`);
      return;
    }
    this.log.warn({ committed, workers: remaining.length }, `stopping: checkpoint of step ${committed + 1} taken from the ${remaining.length} surviving worker(s); --resume continues from it`);
  }

  /** Tells every worker of the next ring its ranks: survivors a regroup, newcomers an assignment. */
  private form(survivors: WorkerSession[], joiners: WorkerSession[], committed: number, regrouping: boolean): void {
    const members = [...survivors, ...joiners];
    // Survivors first, so rank 0 (whose state joiners take) is a survivor.
    const assigned = assignRanks(members.map((s) => ({ id: s.id, host: s.join?.host ?? '', peerPort: s.halted?.peerPort ?? s.join?.peerPort ?? 1, threads: s.join?.threads ?? 1 })));
    const peers = assigned.map((a) => ({ rank: a.processRank, host: a.host, port: a.peerPort, threads: a.threads }));
    const size = worldSize(assigned);
    const shareState = joiners.length > 0;
    for (const a of assigned) {
      const session = this.workers.get(a.id);
      if (session === undefined) continue;
      session.assigned = a;
      session.ready = undefined;
      session.state = 'assigned';
      if (regrouping && survivors.includes(session)) {
        session.socket.send({ t: 'regroup', generation: this.generation, processRank: a.processRank, processCount: assigned.length, rankOffset: a.rankOffset, threads: a.threads, worldSize: size, peers, rollbackTo: committed, shareState });
      } else {
        // A resumed run's first ring: rank 0 starts from the checkpoint's state and shares it.
        const resumed = this.resumeFrom;
        if (!regrouping && a.rankOffset === 0 && resumed !== undefined) {
          session.socket.send({ t: 'state', step: resumed.step }, bytesOf(resumed.state));
        }
        this.assign(session, a, assigned.length, size, peers, regrouping);
        if (regrouping) this.rankRestarts += a.threads;
      }
    }
    this.log.info({ generation: this.generation, workers: assigned.map((a) => ({ id: a.id, host: a.host, processRank: a.processRank, ranks: `${a.rankOffset}..${a.rankOffset + a.threads - 1}` })), worldSize: size }, `assigned ${size} ranks over ${assigned.length} worker(s)`);
  }

  private assign(session: WorkerSession, a: AssignedWorker, processCount: number, size: number, peers: PeerEntry[], joining: boolean): void {
    const o = this.options;
    session.socket.send({
      t: 'assign',
      jobId: this.jobId,
      generation: this.generation,
      joining,
      jobSecret: this.jobSecret,
      processRank: a.processRank,
      processCount,
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

  private untilReady(): Promise<void> {
    const timeoutMs = this.deadlines.readyTimeoutMs;
    return this.until('loading', () => this.workers.ring().every((s) => s.state === 'ready'), timeoutMs, 'COORD_ERR_WORKERS_MISSING', () => `not every worker loaded its backend, data and model and linked to its peers within ${Math.round(timeoutMs / 1000)} s (not ready: ${this.workers.ring().filter((s) => s.state !== 'ready').map(describeSession).join(', ')})`);
  }

  /** Resolves when `ready()` holds; rejects at a job failure or after `timeoutMs`. */
  private until(what: string, ready: () => boolean, timeoutMs: number, code: CoordinatorErrorCode, message: () => string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.jobFailure !== undefined) {
          done();
          reject(this.jobFailure);
        } else if (ready()) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new CoordinatorError(code, message()));
      }, timeoutMs);
      const reminder = setInterval(() => {
        this.options.hooks?.onWaiting?.(this.workers.joined().length, this.options.workers);
        this.log.info({ joined: this.workers.joined().map(describeSession) }, `${what}: ${this.workers.joined().length} of ${this.options.workers} worker(s) present`);
      }, 10_000);
      const done = (): void => {
        clearTimeout(timer);
        clearInterval(reminder);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  private wake(): void {
    for (const check of [...this.waiters]) check();
  }

  private missingMessage(timeoutMs: number): string {
    const present = this.workers.joined();
    const missing = this.options.workers - present.length;
    return `only ${present.length} of ${this.options.workers} workers joined within ${Math.round(timeoutMs / 1000)} s${present.length > 0 ? ` (joined: ${present.map(describeSession).join(', ')})` : ''}; ${missing} never connected to port ${this.port} with the job's token: check the workers' --coordinator URL, their token and the network`;
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
        parameters: this.workers.ring().find((m) => m.ready !== undefined)?.ready?.parameters ?? null,
        rankRestarts: this.rankRestarts,
        generation: this.generation,
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
      disk: {
        checkpointFailures: this.checkpoints.failures,
        lastCheckpointFailure: this.checkpoints.lastFailure ?? null,
        lastCheckpointStep: this.checkpoints.lastWritten,
        metricsLost: this.metricsLog?.lost ?? null,
        metricsDropped: this.metricsLog?.dropped ?? 0,
      },
      workers: this.workers.all().filter((s) => s.join !== undefined).map((s) => workerStatus(s, this.state === 'training')),
    };
  }

  /** /readyz: the job makes progress within its deadlines. */
  readiness(): Readiness {
    return this.progressWatch.judge(this.state, this.progress.step);
  }

  async close(): Promise<void> {
    this.workers.closeAll();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private emit(record: MetricsRecord): void {
    if (record.kind === 'step') this.progressWatch.note(this.state, record.step);
    for (const listener of this.recordListeners) listener(record);
  }

  private sendTestSet(session: WorkerSession, test: Dataset): void {
    const all = test.batch(Int32Array.from({ length: test.size }, (_, i) => i));
    session.socket.send({ t: 'testSet', count: all.count, inputShape: [...test.inputShape], numClasses: test.numClasses }, bytesOf(all.x), bytesOf(all.y));
  }

  private admitted(session: WorkerSession): void {
    const waiting = this.state === 'waiting';
    this.log.info({ worker: describeSession(session) }, `worker ${describeSession(session)} joined${waiting ? ` (${this.workers.joined().length} of ${this.options.workers})` : ' the running job; it enters at the next step boundary'}`);
    if (!waiting) this.options.onMembership?.({ kind: 'joined', generation: this.generation, worker: describeSession(session) });
    this.wake();
  }

  private onMessage(session: WorkerSession, message: Message, payload: Uint8Array): void {
    switch (message.t) {
      case 'workerReady':
        if (session.state !== 'assigned') break;
        session.ready = message;
        session.state = 'ready';
        this.log.info({ worker: describeSession(session), backend: message.backend, reason: message.backendReason }, `worker ${session.id} ready (${message.backend})`);
        this.wake();
        return;
      case 'halted':
        if (session.state !== 'halting' || message.generation !== this.generation) break;
        session.halted = message;
        session.state = 'halted';
        this.wake();
        return;
      case 'stepDone':
        if (session.state !== 'ready') break;
        this.takeStepReports(session, message);
        return;
      case 'evaluated':
        if (session.state !== 'ready' || session.assigned === undefined) break;
        this.driver?.evaluated(session.assigned.processRank, message.epoch, message.accuracy >= 0 ? { accuracy: message.accuracy, loss: message.loss, count: message.count } : undefined);
        return;
      case 'model':
        if (session.state !== 'ready' || session.assigned?.rankOffset !== 0) break;
        this.model = { json: new TextDecoder().decode(payload.subarray(0, message.jsonBytes)), weights: payload.slice(message.jsonBytes), evaluation: { accuracy: message.accuracy, loss: message.loss, count: this.data.test.size } };
        return;
      case 'checkpointData': {
        if (session.state !== 'ready' || session.assigned?.rankOffset !== 0) break;
        const json = new TextDecoder().decode(payload.subarray(0, message.jsonBytes));
        // Copies: the payload is a view into the whole frame (a Buffer's slice is a view too).
        const weights = new Uint8Array(payload.subarray(message.jsonBytes, message.jsonBytes + message.weightsBytes));
        const state = new Float32Array(new Uint8Array(payload.subarray(message.jsonBytes + message.weightsBytes)).buffer);
        this.checkpoints.write(message.step, json, weights, state);
        this.wake();
        return;
      }
      case 'finished':
        if (session.state !== 'ready' || session.assigned === undefined) break;
        session.state = 'finished';
        this.driver?.finished(session.assigned.processRank);
        return;
      case 'fail':
        this.onWorkerFailure(session, message);
        return;
      default:
        break;
    }
    // A halting worker may still send what it had in flight; anything else out of place is a protocol error.
    if (session.state === 'halting' || session.state === 'halted' || message.t === 'stepDone' || message.t === 'evaluated') return;
    this.workers.dropInvalid(session, Object.assign(new Error(`unexpected ${message.t} from a worker in state ${session.state}`), { code: 'COORD_ERR_UNEXPECTED_MESSAGE' }));
  }

  /**
   * A worker's ranks failed. A collective failure (a peer lost or cut off, a deadline) is
   * the ring's, not the worker's: re-form the ring. Anything else (the model, the data)
   * would fail everywhere again: the job fails.
   */
  private onWorkerFailure(session: WorkerSession, message: Extract<Message, { t: 'fail' }>): void {
    const cause = Object.assign(new Error(message.reason), { code: message.code });
    if (message.code.startsWith('COLL_ERR_') && this.state === 'training') {
      this.failJob(new CoordinatorError('COORD_ERR_RING_FAILED', `${describeSession(session)}: ${message.reason}`, { cause }));
      return;
    }
    if (this.state === 'recovering' && message.code.startsWith('COLL_ERR_')) return;
    this.failJob(new CoordinatorError('COORD_ERR_WORKER_FAILED', `worker ${describeSession(session)} failed: ${message.reason}`, { cause }));
  }

  /**
   * A training worker's step reports: of this ring, for its own ranks, and as the job
   * driver checks them (steps in flight, each rank once, possible timings, the samples of
   * its shard). A worker whose reports break any of this is dropped with the code, like
   * one that sent an invalid message: the ring re-forms without it, the step is redone.
   */
  private takeStepReports(session: WorkerSession, message: Extract<Message, { t: 'stepDone' }>): void {
    try {
      if (message.generation !== this.generation) {
        throw new CoordinatorError('COORD_ERR_BAD_REPORT', `a report of ring generation ${message.generation}; the ring is generation ${this.generation}`);
      }
      const ranks = message.reports.map((r) => r.rank);
      if (!this.ownsRanks(session, ranks)) {
        throw new CoordinatorError('COORD_ERR_BAD_REPORT', `a report for rank(s) ${ranks.slice(0, 8).join(', ')}, not all of them its own`);
      }
      this.driver?.stepDone(message.step, message.reports);
    } catch (error) {
      if (!(error instanceof CoordinatorError)) throw error;
      this.workers.dropInvalid(session, error);
    }
  }

  private ownsRanks(session: WorkerSession, ranks: number[]): boolean {
    const a = session.assigned;
    return a !== undefined && ranks.every((r) => r >= a.rankOffset && r < a.rankOffset + a.threads);
  }

  private lose(session: WorkerSession, reason: string): void {
    const before = session.state;
    session.stopHeartbeat?.();
    session.state = 'closed';
    if (this.state === 'finished' || this.state === 'failed') return;
    if (before === 'joined') {
      // Not in the ring: it simply is no longer counted.
      this.workers.forget(session);
      this.log.warn({ worker: describeSession(session) }, `worker ${describeSession(session)} left before entering the ring`);
      this.wake();
      return;
    }
    this.options.onMembership?.({ kind: 'lost', generation: this.generation, worker: describeSession(session), reason });
    if (this.state === 'training' || this.state === 'recovering') {
      this.failJob(new CoordinatorError('COORD_ERR_WORKER_LOST', reason));
      return;
    }
    // Lost while the first ring loads: the others cannot link to it.
    this.failJob(new CoordinatorError('COORD_ERR_WORKERS_MISSING', `${reason} before training started`));
  }

  private failJob(error: Error): void {
    if (this.state === 'training') this.driver?.fail(error);
    else if (this.jobFailure === undefined) this.jobFailure = error;
    this.wake();
  }
}
