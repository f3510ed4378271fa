import { availableParallelism } from 'node:os';
import type { BackendInfo, BackendRequest } from '@tfjs-ddp/backend';
import { createThreadGroup } from '@tfjs-ddp/collective';
import { openDataset, shareDataset, type DatasetPair } from '@tfjs-ddp/data';
import { JobDriver, scheduleOf, withRunLength, type EpochEvaluation, type JobEndpoint, type StepProgress, type StepSchedule } from '@tfjs-ddp/job';
import type { ValidationMonitor } from '@tfjs-ddp/job';
import { bnGroupRanks, parseBnMode } from '@tfjs-ddp/nn';
import type { JobConfig, RankStepReport } from '@tfjs-ddp/protocol';
import { asyncOnlyBackendRefusal, type ModelArtifactsBytes } from '@tfjs-ddp/trainer';
import { withDeadline } from './deadline.js';
import { JobStopped, WorkerError } from './errors.js';
import { LocalRanks } from './local-ranks.js';
import type { Finished, RankInit, RankReady, RankTestFaults } from './rank-messages.js';
import { RankPool } from './rank-pool.js';
import { threadBackend } from './thread-backend.js';

export interface LocalJobHooks {
  onReady?: (backend: BackendInfo) => void;
  /** After every global step, with each rank's report in rank order. */
  onStep?: (progress: StepProgress, reports: RankStepReport[]) => void;
  onEpochEnd?: (epoch: number, evaluation: EpochEvaluation) => void;
}

/** Where a local job's checkpoints go: `JobCheckpoints` of @tfjs-ddp/coordinator fits (this package does not write them). */
export interface LocalCheckpoints {
  /** Whether the state after step `step` (0-based) is checkpointed. */
  wants(step: number): boolean;
  /** Rank 0's model and training state after step `step` (0-based). */
  write(step: number, modelJson: string, weights: Uint8Array, state: Float32Array): void;
}

/** What a local job resumes from and where it checkpoints, decided once its config and schedule are known. */
export interface LocalCheckpointing {
  /** Steps already trained and rank 0's training state after them (a checkpoint's `step` and `state`). */
  resumeFrom?: { step: number; state: Float32Array };
  checkpoints?: LocalCheckpoints;
}

export interface LocalJobOptions {
  config: JobConfig;
  /** The data itself (a library user's arrays) instead of the data set `config.dataset` names. */
  data?: DatasetPair;
  /** The model itself, as model-folder bytes (a library user's model), instead of the one `config.model` names. */
  model?: ModelArtifactsBytes;
  /** Modules (file URLs) every rank thread imports before it builds the model: they register a user's layer classes. */
  register?: string[];
  /**
   * Judges every epoch's evaluation: early stopping (its patience) and, with `onBestModel`,
   * best-model saving. The next epoch's steps wait for the judgement.
   */
  monitor?: ValidationMonitor;
  /** Gets rank 0's model (model-folder bytes) after every epoch that improved on the monitor's best. */
  onBestModel?: (epoch: number, model: ModelArtifactsBytes) => void;
  /** Rank threads. Default: one per core. */
  threads?: number;
  /** `local`, `sync` or `sync:K`. Default `sync`. */
  bnMode?: string;
  /** Default `auto`; with more than one thread, auto skips the native backends (they need a process per rank). */
  backend?: BackendRequest;
  /** tfjs-node-gpu that finds no GPU trains on the CPU instead of failing. Default false. */
  allowCpu?: boolean;
  /** Rank 0 saves the trained model here. */
  outDir?: string;
  /** Relative shard size of each rank (e.g. [3, 5, 8, 0]); default equal shards. */
  shardWeights?: readonly number[];
  /** Compare a checksum of every replica's weights every this many steps (0: never). Default 0. */
  checkReplicasEvery?: number;
  /** Return every rank's final weights (tests). Default false. */
  returnWeights?: boolean;
  /** Return rank 0's final model as model-folder bytes. Default false. */
  returnModel?: boolean;
  /** Steps sent to the ranks ahead of the one being computed. Default 2. */
  prefetch?: number;
  /** Deadline for every rank to load its backend, data and model. Default 180 s. */
  startupTimeoutMs?: number;
  /** Deadline for every rank to finish one step (or an evaluation). Default 300 s. */
  stepTimeoutMs?: number;
  /** Deadline of one collective operation inside a step. Default 120 s. */
  collectiveTimeoutMs?: number;
  hooks?: LocalJobHooks;
  /**
   * Called before the ranks start, with the config the ranks get (a cosine schedule's
   * horizon filled in, as checkpoints store it) and the run's schedule. Default: no
   * checkpoints, start at step 1.
   */
  checkpointing?: (config: JobConfig, schedule: StepSchedule) => Promise<LocalCheckpointing>;
  /**
   * Stops the job: no step is sent after the abort; once the steps in flight are done, the
   * state after the last committed one is checkpointed (with `checkpointing`) and the job
   * rejects with JobStopped (during startup: at once, with no checkpoint).
   */
  stop?: AbortSignal;
  /** TEST FAULT HOOK (see test-faults.ts): faults planted in one rank. Never set outside tests. */
  testFaults?: { rank: number; faults: RankTestFaults };
}

export interface LocalJobResult {
  steps: number;
  samples: number;
  elapsedSec: number;
  test: EpochEvaluation;
  modelPath?: string;
  backend: BackendInfo;
  /** Each rank's final weights, when asked for. */
  weights?: Float32Array[];
  /** Rank 0's final model, when asked for. */
  model?: ModelArtifactsBytes;
  /** The monitor stopped the run before its last scheduled epoch. */
  stoppedEarly: boolean;
  /** Every rank's mean step timings, in rank order. */
  meanReports: RankStepReport[];
}

/**
 * Shared memory per rank for its gradient buffer, so the all-reduce works on it in place
 * (4M floats: every zoo model, and larger user models fall back to a copy).
 */
export const GRADIENT_ARENA_BYTES = 16 * 1024 * 1024;

/**
 * Trains one model with `threads` rank threads in this process: the job driver cuts the
 * global batch of every step into one shard per rank, every rank computes summed
 * gradients on its shard, the ranks all-reduce them in shared memory and apply the same
 * update. The same driver runs a distributed job over WebSockets.
 */
export async function runLocalJob(options: LocalJobOptions): Promise<LocalJobResult> {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new WorkerError('WORKER_ERR_BAD_OPTION', `threads must be a positive integer, got ${threads}`);
  const bnMode = options.bnMode ?? 'sync';
  const backend = threadBackend(options.backend ?? 'auto', threads, options.allowCpu);
  // What webgpu cannot run yet, refused before any rank starts (see asyncOnlyBackendRefusal),
  // also for a model without BN layers, where --bn changes nothing.
  const refusal = asyncOnlyBackendRefusal(backend.request, bnGroupRanks(parseBnMode(bnMode), 0, threads).length);
  if (refusal !== undefined) throw new WorkerError('WORKER_ERR_BAD_OPTION', refusal);

  const data = options.data ?? openDataset(options.config.dataset, options.config.seed);
  // A cosine schedule falls over the run's steps: the ranks get the horizon in their config.
  const config = withRunLength(options.config, scheduleOf(options.config, data.train.size).totalSteps);
  const schedule = scheduleOf(config, data.train.size);
  const { resumeFrom, checkpoints } = (await options.checkpointing?.(config, schedule)) ?? {};
  const train = shareDataset(data.train);
  const test = shareDataset(data.test);
  const group = createThreadGroup({ threads, opTimeoutMs: options.collectiveTimeoutMs ?? 120_000, arenaBytes: GRADIENT_ARENA_BYTES });
  const inits: RankInit[] = Array.from({ length: threads }, (_, rank) => ({
    kind: 'init',
    rank,
    localRank: rank,
    worldSize: threads,
    config,
    bnMode,
    backend: backend.request,
    backendOptions: backend.options,
    train,
    test,
    inputShape: [...data.train.inputShape],
    numClasses: data.train.numClasses,
    communicator: group.handle,
    checkReplicasEvery: options.checkReplicasEvery ?? 0,
    generation: 0,
    ...(options.model === undefined ? {} : { model: options.model }),
    ...(options.register === undefined ? {} : { register: options.register }),
    // Rank 0 shares it with the others before the first step.
    ...(rank === 0 && resumeFrom !== undefined ? { initialState: resumeFrom.state } : {}),
    ...(options.testFaults?.rank === rank ? { testFaults: options.testFaults.faults } : {}),
  }));

  let driver: JobDriver | undefined;
  let failure: WorkerError | undefined;
  let signalReady: (ready: RankReady[]) => void = () => undefined;
  let signalStartupFailure: (error: Error) => void = () => undefined;
  const ready = new Promise<RankReady[]>((resolve, reject) => {
    signalReady = resolve;
    signalStartupFailure = reject;
  });
  let finished: Finished[] = [];
  /** Steps whose checkpoint was asked for as a best model, with the epoch they ended. */
  const bestModelSteps = new Map<number, number>();
  let lastCheckpoint: { step: number; model: ModelArtifactsBytes } | undefined;
  /** Steps whose checkpoint is to be written (the others asked for are best models only), and the last one handed to the writer. */
  const checkpointSteps = new Set<number>();
  let lastWrittenStep = -1;
  let checkpointArrived: (step: number) => void = () => undefined;
  let stopNow = false;
  const sendCheckpoint = (step: number): void => {
    for (let r = 0; r < threads; r++) pool.send(r, { kind: 'checkpoint', generation: 0, step });
  };
  const ranks = new LocalRanks(threads, 0, {
    onReady: (r) => signalReady(r),
    onStep: (step, reports) => {
      try {
        driver?.stepDone(step, reports);
      } catch (error) {
        // Reports the driver refuses (a rank that trained other samples than its shard) end a local job: there is no one to drop.
        driver?.fail(error as Error);
      }
    },
    onEvaluated: (epoch, evaluation) => driver?.evaluated(0, epoch, evaluation),
    // One process has no ring to re-form: every failure ends the job.
    onRegrouped: () => undefined,
    onCheckpoint: (step, { model, state }) => {
      if (checkpointSteps.delete(step) && checkpoints !== undefined) {
        checkpoints.write(step, model.modelJson, model.weights, state);
        lastWrittenStep = step;
      }
      lastCheckpoint = { step, model };
      checkpointArrived(step);
      const bestEpoch = bestModelSteps.get(step);
      if (bestEpoch === undefined) return;
      bestModelSteps.delete(step);
      options.onBestModel?.(bestEpoch, model);
    },
    onFinished: (f) => {
      finished = f;
      driver?.finished(0);
    },
    onFailed: (error) => {
      failure = error;
      // A rank that fails leaves the others blocked in a collective: wake them now.
      group.abort(error.message);
      signalStartupFailure(error);
      driver?.fail(error);
    },
  });
  const pool = new RankPool(inits, (report) => ranks.receive(report));
  const endpoint: JobEndpoint = {
    rankOffset: 0,
    ranks: threads,
    sendStep: ({ step, epoch, globalCount, shards }) => {
      shards.forEach((indices, r) => pool.send(r, { kind: 'step', generation: 0, step, epoch, indices, globalCount }));
      // Right behind the step's order: every rank takes the checkpoint after that step, before any prefetched one.
      if (checkpoints?.wants(step) === true) {
        checkpointSteps.add(step);
        sendCheckpoint(step);
      }
    },
    sendEvaluate: (epoch) => {
      for (let r = 0; r < threads; r++) pool.send(r, { kind: 'evaluate', generation: 0, epoch });
    },
    sendFinish: () => {
      const { outDir: saveTo, returnModel = false, returnWeights = false } = options;
      const order = { kind: 'finish', saveTo, returnModel, returnWeights } as const;
      for (let r = 0; r < threads; r++) pool.send(r, order);
    },
  };
  const stopReason = (): string => String(options.stop?.reason ?? 'stopped');
  const onStop = (): void => {
    if (driver === undefined) signalStartupFailure(new JobStopped(0, resumeFrom?.step ?? 0, stopReason()));
    else void driver.pause();
  };
  /** Rank 0's state after step `step` (0-based) into a checkpoint, unless one is there; the committed steps it holds. */
  const checkpointAt = async (step: number): Promise<number> => {
    if (checkpoints === undefined || step < 0) return 0;
    if (lastWrittenStep === step) return step + 1;
    const arrived = new Promise<void>((resolve) => {
      checkpointArrived = (s) => s === step && resolve();
    });
    checkpointSteps.add(step);
    sendCheckpoint(step);
    const stepMs = options.stepTimeoutMs ?? 300_000;
    await withDeadline(arrived, stepMs, () => new WorkerError('WORKER_ERR_STEP_TIMEOUT', `the checkpoint after step ${step + 1} did not arrive in time`));
    return step + 1;
  };
  try {
    if (options.stop?.aborted === true) onStop();
    options.stop?.addEventListener('abort', onStop, { once: true });
    const startupMs = options.startupTimeoutMs ?? 180_000;
    const readyRanks = await withDeadline(ready, startupMs, () => {
      const seconds = Math.round(startupMs / 1000);
      return new WorkerError('WORKER_ERR_STARTUP_TIMEOUT', `not every rank thread loaded its backend, data and model within ${seconds} s`);
    });
    const backendInfo = (readyRanks[0] as RankReady).backend;
    options.hooks?.onReady?.(backendInfo);
    driver = new JobDriver({
      schedule,
      startStep: resumeFrom?.step ?? 0,
      endpoints: [endpoint],
      shardWeights: options.shardWeights,
      prefetch: options.prefetch,
      stepTimeoutMs: options.stepTimeoutMs,
      hooks: {
        onStep: options.hooks?.onStep,
        onEpochEnd: (epoch, evaluation) => {
          options.hooks?.onEpochEnd?.(epoch, evaluation);
          const judgement = options.monitor?.judge(epoch, evaluation);
          stopNow = judgement?.stop === true;
          if (judgement?.improved !== true || options.onBestModel === undefined || driver === undefined) return;
          const step = driver.lastCompletedStep;
          // A checkpoint asked for after this step came before the evaluation (rank 0 answers in order): it is the evaluated model.
          if (lastCheckpoint?.step === step) return options.onBestModel(epoch, lastCheckpoint.model);
          // Else one is asked for now; the driver holds the next epoch's steps until stopAfter has answered.
          bestModelSteps.set(step, epoch);
          sendCheckpoint(step);
        },
      },
      ...(options.monitor === undefined ? {} : { stopAfter: () => stopNow }),
    });
    if (failure !== undefined) driver.fail(failure);
    if (options.stop?.aborted === true) void driver.pause();
    const result = await driver.run();
    if (result.paused) throw new JobStopped(await checkpointAt(result.steps - 1), result.steps, stopReason());
    const rank0 = finished.find((f) => f.rank === 0);
    const evaluation = rank0?.evaluation;
    if (evaluation === undefined) throw new WorkerError('WORKER_ERR_RANK_FAILED', 'rank 0 finished without its evaluation');
    return {
      steps: result.steps,
      samples: result.samples,
      elapsedSec: result.elapsedSec,
      test: evaluation,
      modelPath: rank0?.modelPath,
      backend: backendInfo,
      weights: options.returnWeights ? finished.map((f) => f.weights ?? new Float32Array(0)) : undefined,
      ...(rank0?.model === undefined ? {} : { model: rank0.model }),
      stoppedEarly: result.stoppedEarly,
      meanReports: result.meanReports,
    };
  } finally {
    options.stop?.removeEventListener('abort', onStop);
    group.abort('the job ended');
    await pool.close();
    group.close();
  }
}
