import { cpus } from 'node:os';
import { isNativeBackend, type BackendInfo, type BackendRequest } from '@tfjs-ddp/backend';
import { cutShards, evenShardSizes, openDataset, proportionalShardSizes, shareDataset } from '@tfjs-ddp/data';
import { parseBnMode } from '@tfjs-ddp/nn';
import { ProgressTracker, scheduleOf, type Evaluation, type StepProgress, type TrainConfig } from '@tfjs-ddp/trainer';
import { WorkerError } from './errors.js';
import type { RankInit, StepTimings } from './rank-messages.js';
import { RankPool } from './rank-pool.js';
import { ReportCollector } from './report-collector.js';
import { createThreadGroup } from '@tfjs-ddp/collective';

export interface LocalJobHooks {
  onReady?: (backend: BackendInfo) => void;
  /** After every global step, with each rank's timings in rank order. */
  onStep?: (progress: StepProgress, timings: StepTimings[]) => void;
  onEpochEnd?: (epoch: number, evaluation: Evaluation) => void;
}

export interface LocalJobOptions {
  config: TrainConfig;
  /** Rank threads. Default: one per core. */
  threads?: number;
  /** `local`, `sync` or `sync:K`. Default `sync`. */
  bnMode?: string;
  /** Default `auto`; with more than one thread, auto means wasm (native backends need a process per rank). */
  backend?: BackendRequest;
  /** Rank 0 saves the trained model here. */
  outDir?: string;
  /** Relative shard size of each rank (e.g. [3, 5, 8, 0]); default equal shards. */
  shardWeights?: readonly number[];
  /** Compare a checksum of every replica's weights every this many steps (0: never). Default 0. */
  checkReplicasEvery?: number;
  /** Return every rank's final weights (tests). Default false. */
  returnWeights?: boolean;
  /** Steps sent to the ranks ahead of the one being computed. Default 2. */
  prefetch?: number;
  /** Deadline for every rank to load its backend, data and model. Default 180 s. */
  startupTimeoutMs?: number;
  /** Deadline for every rank to finish one step (or an evaluation). Default 300 s. */
  stepTimeoutMs?: number;
  /** Deadline of one collective operation inside a step. Default 120 s. */
  collectiveTimeoutMs?: number;
  hooks?: LocalJobHooks;
}

export interface LocalJobResult {
  steps: number;
  samples: number;
  elapsedSec: number;
  test: Evaluation;
  modelPath?: string;
  backend: BackendInfo;
  /** Each rank's final weights, when asked for. */
  weights?: Float32Array[];
  /** Mean over steps and ranks. */
  meanTimings: StepTimings;
}

/**
 * Shared memory per rank for its gradient buffer, so the all-reduce works on it in place
 * (4M floats: every zoo model, and larger user models fall back to a copy).
 */
const GRADIENT_ARENA_BYTES = 16 * 1024 * 1024;

function threadBackend(request: BackendRequest, threads: number): BackendRequest {
  if (threads === 1) return request;
  if (request !== 'auto' && isNativeBackend(request)) {
    throw new WorkerError(
      'WORKER_ERR_NATIVE_THREADS',
      `the ${request} backend cannot run in more than one thread of a process (tfjs issues 8388, 2079); run one worker process per rank (tfjs-ddp coordinator + worker), or use --threads 1`,
    );
  }
  return request === 'auto' ? 'wasm' : request;
}

/**
 * Trains one model with `threads` rank threads in this process: the global batch of
 * every step is cut into one shard per rank, every rank computes summed gradients on
 * its shard, the ranks all-reduce them in shared memory and apply the same update.
 */
export async function runLocalJob(options: LocalJobOptions): Promise<LocalJobResult> {
  const { config } = options;
  const threads = options.threads ?? cpus().length;
  if (!Number.isInteger(threads) || threads < 1) throw new WorkerError('WORKER_ERR_BAD_OPTION', `threads must be a positive integer, got ${threads}`);
  const weights = options.shardWeights ?? new Array<number>(threads).fill(1);
  if (weights.length !== threads) throw new WorkerError('WORKER_ERR_BAD_OPTION', `${weights.length} shard weights for ${threads} ranks`);
  const bnMode = options.bnMode ?? 'sync';
  parseBnMode(bnMode);
  const backend = threadBackend(options.backend ?? 'auto', threads);
  const prefetch = options.prefetch ?? 2;
  const hooks = options.hooks ?? {};

  const data = openDataset(config.dataset, config.seed);
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
    backend,
    train,
    test,
    communicator: group.handle,
    checkReplicasEvery: options.checkReplicasEvery ?? 0,
  }));
  const reports = new ReportCollector(threads);
  const pool = new RankPool(inits, (report) => {
    // A rank that fails leaves the others blocked in a collective: wake them now.
    if (report.kind === 'failed') group.abort(`rank ${report.rank} failed: ${report.message}`);
    reports.receive(report);
  });
  const stepTimeoutMs = options.stepTimeoutMs ?? 300_000;
  try {
    await reports.waitFor('starting the ranks', () => reports.allReady(), options.startupTimeoutMs ?? 180_000, 'WORKER_ERR_STARTUP_TIMEOUT');
    const backendInfo = reports.ready.get(0)?.backend;
    if (backendInfo === undefined) throw new WorkerError('WORKER_ERR_RANK_FAILED', 'rank 0 did not report its backend');
    hooks.onReady?.(backendInfo);

    const schedule = scheduleOf(config, data.train.size);
    const { stepsPerEpoch, totalSteps } = schedule;
    const tracker = new ProgressTracker(stepsPerEpoch, totalSteps);
    const timingTotals: StepTimings = { computeMs: 0, syncBnMs: 0, allReduceMs: 0, applyMs: 0, waitMs: 0 };
    let sent = 0;
    let samples = 0;
    const started = performance.now();
    const sendStep = (step: number): void => {
      const { epoch, indices, endsEpoch } = schedule.at(step);
      const sizes = options.shardWeights === undefined ? evenShardSizes(indices.length, threads) : proportionalShardSizes(indices.length, weights);
      cutShards(indices, sizes).forEach((shard, rank) => pool.send(rank, { kind: 'step', step, epoch, indices: shard, globalCount: indices.length }));
      if (endsEpoch) for (let r = 0; r < threads; r++) pool.send(r, { kind: 'evaluate', epoch });
    };
    for (let done = 0; done < totalSteps; done++) {
      while (sent < totalSteps && sent <= done + prefetch) sendStep(sent++);
      await reports.waitFor(`step ${done + 1}`, () => reports.stepReports(done) !== undefined, stepTimeoutMs, 'WORKER_ERR_STEP_TIMEOUT');
      const stepReports = reports.takeStep(done).sort((a, b) => a.rank - b.rank);
      const lossSum = stepReports.reduce((s, r) => s + r.lossSum, 0);
      const correct = stepReports.reduce((s, r) => s + r.correct, 0);
      const count = stepReports.reduce((s, r) => s + r.count, 0);
      samples += count;
      for (const r of stepReports) for (const key of Object.keys(timingTotals) as (keyof StepTimings)[]) timingTotals[key] += r.timings[key];
      const epoch = Math.floor(done / stepsPerEpoch);
      hooks.onStep?.(tracker.record(epoch, done % stepsPerEpoch, lossSum, correct, count), stepReports.map((r) => r.timings));
      if (done % stepsPerEpoch === stepsPerEpoch - 1) {
        await reports.waitFor(`evaluating epoch ${epoch + 1}`, () => reports.evaluations(epoch) !== undefined, stepTimeoutMs, 'WORKER_ERR_STEP_TIMEOUT');
        const evaluation = reports.evaluations(epoch)?.find((e) => e.rank === 0)?.evaluation;
        if (evaluation !== undefined) hooks.onEpochEnd?.(epoch, evaluation);
      }
    }
    for (let r = 0; r < threads; r++) pool.send(r, { kind: 'finish', saveTo: options.outDir, returnWeights: options.returnWeights ?? false });
    await reports.waitFor('finishing', () => reports.allFinished(), stepTimeoutMs, 'WORKER_ERR_STEP_TIMEOUT');
    const rank0 = reports.finished.get(0);
    if (rank0?.evaluation === undefined) throw new WorkerError('WORKER_ERR_RANK_FAILED', 'rank 0 finished without its evaluation');
    const denominator = Math.max(1, totalSteps * threads);
    const meanTimings = Object.fromEntries(Object.entries(timingTotals).map(([k, v]) => [k, v / denominator])) as unknown as StepTimings;
    return {
      steps: totalSteps,
      samples,
      elapsedSec: (performance.now() - started) / 1000,
      test: rank0.evaluation,
      modelPath: rank0.modelPath,
      backend: backendInfo,
      weights: options.returnWeights ? Array.from({ length: threads }, (_, r) => reports.finished.get(r)?.weights ?? new Float32Array(0)) : undefined,
      meanTimings,
    };
  } finally {
    group.abort('the job ended');
    await pool.close();
    group.close();
  }
}
