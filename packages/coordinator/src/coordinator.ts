import type { IncomingMessage, Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { JobDriver, ProgressTracker, writeModelFolder, type EpochAccount, type EpochEvaluation } from '@tfjs-ddp/job';
import type { CoordinatorOptions } from './coordinator-options.js';
import { CoordinatorCore, type JobFacts, type StartedOptions } from './coordinator-core.js';
import { listenForJob, prepareJob } from './coordinator-start.js';
import { CoordinatorError } from './errors.js';
import type { RouteHandler } from './http-server.js';
import { MetricsLog, stepWallMs, type MetricsRecord } from './metrics-log.js';
import { ProgressWatch, type Readiness } from './readiness.js';
import { RingFormation } from './ring-formation.js';
import { jobStatus, type JobStatus } from './status.js';
import { workerEndpoint } from './worker-endpoint.js';
import { WorkerMessages } from './worker-messages.js';

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
  /** Set when a signal stopped the job (requestStop): the step of the checkpoint written (0: none). */
  stopped?: { checkpointStep: number };
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
 *
 * This file is start-up and the run loop; ring formation (ring-formation.ts), what
 * workers send (worker-messages.ts) and the status (status.ts) work on the state they
 * share (coordinator-core.ts).
 */
export class Coordinator {
  readonly jobId: string;
  readonly port: number;
  private readonly core: CoordinatorCore;
  private stopReason: string | undefined;
  private readonly ring: RingFormation;
  private readonly recordListeners = new Set<(record: MetricsRecord) => void>();
  /** For /readyz: when the state and the step last changed. */
  private readonly progressWatch: ProgressWatch;

  private constructor(
    options: StartedOptions,
    facts: JobFacts,
    private readonly server: Server,
    private readonly routes: Map<string, RouteHandler>,
  ) {
    this.jobId = facts.jobId;
    this.port = facts.port;
    this.core = new CoordinatorCore(options, facts, (core) => new WorkerMessages(core));
    this.ring = new RingFormation(this.core);
    this.progressWatch = new ProgressWatch(this.core.deadlines);
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.core.workers.upgrade(request, socket, head));
  }

  /** Loads the data set (for sampling, fingerprints and, if asked, streaming) and starts listening. */
  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    const prepared = await prepareJob(options);
    // The HTTP server exists before the coordinator it reports on: /status reads it through this reference.
    const ref: { coordinator?: Coordinator } = {};
    const { server, routes, port } = await listenForJob(options, {
      status: () => (ref.coordinator as Coordinator).status(),
      readiness: () => (ref.coordinator as Coordinator).readiness(),
    });
    const jobId = options.jobId ?? randomBytes(6).toString('hex');
    const { config, ...facts } = prepared;
    const coordinator = new Coordinator({ ...options, config, dataSource: options.dataSource ?? 'local' }, { jobId, port, ...facts }, server, routes);
    ref.coordinator = coordinator;
    const tls = options.tls === undefined ? '' : ' (TLS: wss:// and https://)';
    coordinator.core.log.info(
      { port, jobId, workers: options.workers, tls: options.tls !== undefined },
      `coordinator listening on port ${port}${tls}; waiting for ${options.workers} worker(s)`,
    );
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
    const { core } = this;
    const o = core.options;
    try {
      await this.ring.awaitWorkers();
      core.state = 'starting';
      await this.ring.formFirst();
      core.state = 'training';
      core.startedAt = new Date().toISOString();
      let startStep = core.facts.resumeFrom?.step ?? 0;
      const metrics = new MetricsLog(o.outDir, { append: startStep > 0, log: core.log });
      core.metricsLog = metrics;
      const tracker = new ProgressTracker(core.schedule.stepsPerEpoch, core.schedule.totalSteps, startStep);
      // The checkpoint's steps were committed by the run it continues.
      core.ledger.commitUpTo(startStep);
      let evaluateFirst: number | undefined;
      let recoveries = 0;
      for (;;) {
        const driver = this.newDriver(metrics, tracker, startStep, evaluateFirst);
        core.driver = driver;
        // Stopped during a regroup: the new driver pauses before its first step.
        if (this.stopReason !== undefined) void driver.pause();
        try {
          const result = await driver.run();
          if (!result.paused) return await this.finish(metrics, result.steps, result.samples, result.elapsedSec);
          if (this.stopReason !== undefined) return await this.stopped(result.steps - 1, this.stopReason);
          startStep = result.steps;
          evaluateFirst = undefined;
          recoveries = 0;
          await this.ring.regroup(startStep - 1, 'workers join');
        } catch (error) {
          const code = (error as { code?: string }).code ?? '';
          if (!RECOVERABLE.has(code)) throw error;
          const committed = driver.lastCompletedStep;
          recoveries = committed + 1 > startStep ? 0 : recoveries + 1;
          if (recoveries >= (o.maxRecoveries ?? 5)) {
            const last = (error as Error).message;
            const message = `gave up after ${recoveries} regroups without progress; last failure: ${last}`;
            throw new CoordinatorError('COORD_ERR_WORKER_FAILED', message, { cause: error });
          }
          // A failure between an epoch's last step and its evaluation: ask again.
          const last = committed >= 0 ? core.schedule.at(committed) : undefined;
          evaluateFirst = last?.endsEpoch && last.epoch > (core.lastEvaluatedEpoch ?? -1) ? last.epoch : undefined;
          startStep = committed + 1;
          core.jobFailure = undefined;
          await this.ring.regroup(committed, (error as Error).message);
        }
      }
    } catch (error) {
      core.state = 'failed';
      const reason = (error as Error).message;
      core.error = reason;
      const code = (error as { code?: string }).code ?? 'COORD_ERR_WORKER_FAILED';
      for (const s of core.workers.all()) s.socket.send({ t: 'fail', code, reason: reason.slice(0, 1000), rank: -1 });
      core.log.error({ code }, reason);
      throw error;
    } finally {
      await core.checkpoints.flush();
      await this.close();
    }
  }

  private newDriver(metrics: MetricsLog, tracker: ProgressTracker, startStep: number, evaluateFirst: number | undefined): JobDriver {
    const { core } = this;
    const o = core.options;
    const ring = core.workers.ring();
    const endpointOptions = {
      generation: core.generation,
      streamFrom: o.dataSource === 'coordinator' ? core.facts.data.train : undefined,
      checkpointAfter: (step: number) => core.checkpoints.wants(step),
    };
    return new JobDriver({
      schedule: core.schedule,
      startStep,
      evaluateFirst,
      tracker,
      endpoints: ring.map((session) => workerEndpoint(session, endpointOptions)),
      balance: o.balance,
      prefetch: o.prefetch,
      stepTimeoutMs: core.deadlines.stepTimeoutMs,
      onCommit: (step, reports, shards) => core.ledger.commit(step, reports, shards),
      hooks: {
        onStep: (progress, reports) => {
          this.emit(metrics.step(progress, reports));
          const { step, epoch, loss, accuracy, samplesPerSec, etaSec } = progress;
          Object.assign(core.progress, { step, epoch, loss, accuracy, samplesPerSec, etaSec });
          for (const s of ring) {
            const a = s.assigned;
            if (a === undefined) continue;
            s.lastStepMs = Math.max(0, ...reports.filter((r) => r.rank >= a.rankOffset && r.rank < a.rankOffset + a.threads).map(stepWallMs));
          }
          o.hooks?.onStep?.(progress, reports);
          // Workers waiting to join enter at the next step boundary.
          if (core.workers.pendingJoiners().length > 0 && core.workers.ring().length < o.workers) void core.driver?.pause();
        },
        onEpochEnd: (epoch, evaluation) => {
          core.lastEvaluatedEpoch = epoch;
          this.emit(metrics.epoch(epoch, evaluation));
          core.progress.testAccuracy = evaluation.accuracy;
          o.hooks?.onEpochEnd?.(epoch, evaluation);
        },
      },
    });
  }

  private async finish(metrics: MetricsLog, steps: number, samples: number, elapsedSec: number): Promise<CoordinatorResult> {
    const { core } = this;
    const model = core.model;
    if (model === undefined) throw new CoordinatorError('COORD_ERR_WORKER_FAILED', 'the worker hosting rank 0 finished without sending the model');
    await core.checkpoints.flush();
    let modelPath: string;
    try {
      modelPath = await writeModelFolder(core.options.outDir, model.json, model.weights);
    } catch (cause) {
      const lastWritten = core.checkpoints.lastWritten;
      const kept = lastWritten > 0 ? `the checkpoint of step ${lastWritten} keeps the training (--resume)` : 'no checkpoint was written';
      const message = `all ${steps} steps trained, but the model could not be saved: ${(cause as Error).message}; ${kept}`;
      throw new CoordinatorError('COORD_ERR_MODEL_WRITE', message, { cause });
    }
    core.state = 'finished';
    const generations = core.generation;
    core.log.info({ modelPath, testAccuracy: model.evaluation.accuracy, generations }, `job ${this.jobId} finished; model saved to ${modelPath}`);
    return { modelPath, metricsPath: metrics.file, test: model.evaluation, steps, samples, elapsedSec, ledger: core.ledger.accounts(), generations };
  }

  /**
   * Stops the job at the next step boundary (a signal): the in-flight step commits, the
   * last committed step is checkpointed from the ring, and run() resolves with `stopped`.
   * False before training (nothing to checkpoint) or after it: the caller just closes.
   */
  requestStop(reason: string): boolean {
    if (this.core.state !== 'training' && this.core.state !== 'recovering') return false;
    this.stopReason ??= reason;
    void this.core.driver?.pause();
    return true;
  }

  private async stopped(committed: number, reason: string): Promise<CoordinatorResult> {
    const { core } = this;
    // A signal: the whole ring is the survivors.
    await this.ring.checkpointSurvivors(committed, reason);
    await core.checkpoints.flush();
    core.state = 'stopped';
    return { stopped: { checkpointStep: core.checkpoints.lastWritten }, modelPath: '', metricsPath: '', test: { loss: NaN, accuracy: NaN, count: 0 },
      steps: committed + 1, samples: 0, elapsedSec: 0, ledger: core.ledger.accounts(), generations: core.generation };
  }

  status(): JobStatus {
    return jobStatus(this.core);
  }

  /** /readyz: the job makes progress within its deadlines. */
  readiness(): Readiness {
    return this.progressWatch.judge(this.core.state, this.core.progress.step);
  }

  async close(): Promise<void> {
    // Workers of a stopped job are told it is paused (they keep reconnecting for a restart with --resume).
    const reason = this.stopReason === undefined ? undefined : `job paused (${this.stopReason}); it goes on when the coordinator restarts with --resume`;
    this.core.workers.closeAll(reason);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private emit(record: MetricsRecord): void {
    if (record.kind === 'step') this.progressWatch.note(this.core.state, record.step);
    for (const listener of this.recordListeners) listener(record);
  }
}
