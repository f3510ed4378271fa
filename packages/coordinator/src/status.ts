import type { CoordinatorCore } from './coordinator-core.js';
import type { WorkerNetworkStatus } from './network-stats.js';
import { workerStatus } from './worker-session.js';

/** What `GET /status` returns: the job and its workers as the coordinator sees them now. */
export interface JobStatus {
  job: {
    id: string;
    model: string;
    dataset: string;
    bnMode: string;
    globalBatch: number;
    epochs: number;
    dataSource: string;
    balance: string;
    /** Gradient compression on the peer links: none, bf16 or fp16. */
    compress: string;
    /** waiting (for workers), starting, training, finished or failed. */
    state: JobState;
    /** Why the job failed, when it did. */
    error?: string;
    startedAt?: string;
    /** Trainable parameters of the model (the gradient all-reduced every step has this many floats). */
    parameters: number | null;
    /** Ranks that entered a running job (a worker that came back, or a new one). */
    rankRestarts: number;
    /** How many times the ring was formed anew (0: never). */
    generation: number;
  };
  step: number;
  totalSteps: number;
  epoch: number;
  /** Mean loss and training accuracy of the last step's global batch. */
  loss: number | null;
  accuracy: number | null;
  /** Test accuracy after the last finished epoch. */
  testAccuracy: number | null;
  samplesPerSec: number;
  etaSec: number | null;
  workers: WorkerStatus[];
  /** While waiting: how many workers are expected and how many came. */
  expectedWorkers: number;
  /** Disk faults the job goes on through (set by the coordinator; absent in hand-made statuses). */
  disk?: DiskStatus;
}

/** Failed writes the job survived: none leaves a half-written file; each was also logged at error. */
export interface DiskStatus {
  /** Checkpoint writes that failed; --resume takes the newest one written. */
  checkpointFailures: number;
  lastCheckpointFailure: { step: number; code: string; error: string } | null;
  /** Steps committed by the newest checkpoint written (0: none). */
  lastCheckpointStep: number;
  /** Why metrics.jsonl stopped being written; null while it is written. */
  metricsLost: string | null;
  /** Records not written to metrics.jsonl since it was lost. */
  metricsDropped: number;
}

export type JobState = 'waiting' | 'starting' | 'training' | 'recovering' | 'finished' | 'failed' | 'stopped';

export interface WorkerStatus {
  id: string;
  host: string;
  processRank: number | null;
  /** Global ranks of the worker's threads. */
  ranks: number[];
  threads: number;
  backend: string | null;
  /** The device its ranks compute on, as their backend names it (`GPU (CUDA_VISIBLE_DEVICES=1)`, `CPU (wasm)`). */
  device: string | null;
  /** Wall time of the worker's slowest rank in the last step, ms. */
  lastStepMs: number | null;
  /** Its peer links in training: bytes per step, the rate they achieved, the share of the step they took. Null: no report yet (or no peers). */
  network: WorkerNetworkStatus | null;
  state: 'connected' | 'ready' | 'training' | 'lost';
}

/** The job as `GET /status` shows it now. */
export function jobStatus(core: CoordinatorCore): JobStatus {
  const { options, progress, checkpoints } = core;
  const c = options.config;
  return {
    job: {
      id: core.jobId,
      model: c.model,
      dataset: c.dataset,
      bnMode: options.bnMode ?? 'sync',
      globalBatch: c.globalBatch,
      epochs: c.epochs,
      dataSource: options.dataSource,
      balance: options.balance ?? 'even',
      compress: options.compress ?? 'none',
      state: core.state,
      ...(core.error === undefined ? {} : { error: core.error }),
      ...(core.startedAt === undefined ? {} : { startedAt: core.startedAt }),
      parameters: core.workers.ring().find((m) => m.ready !== undefined)?.ready?.parameters ?? null,
      rankRestarts: core.rankRestarts,
      generation: core.generation,
    },
    step: progress.step,
    totalSteps: core.schedule.totalSteps,
    epoch: progress.epoch,
    loss: progress.loss,
    accuracy: progress.accuracy,
    testAccuracy: progress.testAccuracy,
    samplesPerSec: progress.samplesPerSec,
    etaSec: progress.etaSec,
    expectedWorkers: options.workers,
    disk: {
      checkpointFailures: checkpoints.failures,
      lastCheckpointFailure: checkpoints.lastFailure ?? null,
      lastCheckpointStep: checkpoints.lastWritten,
      metricsLost: core.metricsLog?.lost ?? null,
      metricsDropped: core.metricsLog?.dropped ?? 0,
    },
    workers: core.workers.all().filter((s) => s.join !== undefined).map((s) => workerStatus(s, core.state === 'training')),
  };
}
