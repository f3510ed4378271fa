import type { DatasetPair } from '@tfjs-ddp/data';
import { SampleLedger, scheduleOf, WaitUntil, type EpochEvaluation, type JobDriver, type StepSchedule } from '@tfjs-ddp/job';
import { SILENT_LOG, type DataSource, type StructuredLog } from '@tfjs-ddp/protocol';
import type { StoredCheckpoint } from './checkpoint/checkpoint-types.js';
import { JobCheckpoints } from './checkpoint/job-checkpoints.js';
import type { CoordinatorOptions } from './coordinator-options.js';
import type { MetricsLog } from './metrics-log.js';
import type { ReadinessLimits } from './readiness.js';
import { NetworkBoundWarning } from './network-stats.js';
import { newSecret } from './secrets.js';
import type { JobState, JobStatus } from './status.js';
import { WorkerSessions, type WorkerSessionsHandlers } from './worker-sessions.js';

/** The options of a started coordinator: the data source is settled. */
export type StartedOptions = CoordinatorOptions & { dataSource: DataSource };

/** What start-up found out before the coordinator existed. */
export interface JobFacts {
  readonly jobId: string;
  readonly port: number;
  readonly data: DatasetPair;
  readonly modelHash: string;
  /** The checkpoint a resumed run starts from: its `step` steps are already trained. */
  readonly resumeFrom: StoredCheckpoint | undefined;
}

/** The last progress of the job, as /status shows it. */
export type ShownProgress = Pick<JobStatus, 'step' | 'epoch' | 'loss' | 'accuracy' | 'testAccuracy' | 'samplesPerSec' | 'etaSec'>;

/**
 * What the parts of the coordinator share (the run loop, ring formation, message dispatch,
 * the status): the job's fixed facts and its changing state. The parts are separate files
 * with one job each; this object is the one place their common state lives.
 */
export class CoordinatorCore {
  readonly log: StructuredLog;
  readonly workers: WorkerSessions;
  readonly schedule: StepSchedule;
  readonly ledger: SampleLedger;
  readonly checkpoints: JobCheckpoints;
  readonly jobSecret = newSecret();
  /** Logs once when the peer links bound the step. */
  readonly networkWarning: NetworkBoundWarning;
  /** The job's deadlines with their defaults, resolved once: the waits and /readyz judge by the same numbers. */
  readonly deadlines: ReadinessLimits;
  /** Waits for the workers; a job failure ends every one of them. */
  readonly waits = new WaitUntil(() => this.jobFailure);
  state: JobState = 'waiting';
  error: string | undefined;
  startedAt: string | undefined;
  generation = 0;
  rankRestarts = 0;
  driver: JobDriver | undefined;
  model: { json: string; weights: Uint8Array; evaluation: EpochEvaluation } | undefined;
  jobFailure: Error | undefined;
  metricsLog: MetricsLog | undefined;
  lastEvaluatedEpoch: number | undefined;
  readonly progress: ShownProgress = { step: 0, epoch: 0, loss: null, accuracy: null, testAccuracy: null, samplesPerSec: 0, etaSec: null };

  constructor(
    readonly options: StartedOptions,
    readonly facts: JobFacts,
    /** What the worker sessions report to: made for this core (the dispatch reads and changes its state). */
    handlersFor: (core: CoordinatorCore) => WorkerSessionsHandlers,
  ) {
    this.log = options.log ?? SILENT_LOG;
    this.networkWarning = new NetworkBoundWarning(this.log);
    this.deadlines = {
      waitTimeoutMs: options.waitTimeoutMs ?? 300_000,
      readyTimeoutMs: options.readyTimeoutMs ?? 300_000,
      rejoinTimeoutMs: options.rejoinTimeoutMs ?? 60_000,
      stepTimeoutMs: options.stepTimeoutMs ?? 300_000,
    };
    const c = options.config;
    this.schedule = scheduleOf(c, facts.data.train.size);
    this.ledger = new SampleLedger(this.schedule, facts.data.train.size);
    this.checkpoints = new JobCheckpoints({
      runDir: options.outDir,
      schedule: this.schedule,
      config: c,
      every: options.checkpointEvery ?? 0,
      keep: options.keepCheckpoints,
      log: this.log,
    });
    this.workers = new WorkerSessions(
      {
        jobId: facts.jobId,
        token: options.token,
        workers: options.workers,
        handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
        maxConnections: options.maxConnections ?? 256,
        heartbeatMs: options.heartbeatMs ?? 1000,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 3000,
        log: this.log,
        jobState: () => this.state,
      },
      handlersFor(this),
    );
  }

  get jobId(): string {
    return this.facts.jobId;
  }

  /** Checks every wait again: a worker's state, the ring or a job failure changed. */
  wake(): void {
    this.waits.wake();
  }

  /** Ends the job's current phase with `error`: the training driver, or whatever is waited for. */
  failJob(error: Error): void {
    if (this.state === 'training') this.driver?.fail(error);
    else if (this.jobFailure === undefined) this.jobFailure = error;
    this.wake();
  }
}
