import { cutShards, proportionalShardSizes } from '@tfjs-ddp/data';
import type { RankStepDone, RankStepReport } from '@tfjs-ddp/protocol';
import { JobError } from './errors.js';
import { ProgressTracker, type StepProgress } from './progress.js';
import { ShardBalancer, type BalanceMode } from './shard-balancer.js';
import { StepReports, withoutDigest } from './step-reports.js';
import type { StepSchedule } from './step-schedule.js';
import { WaitUntil } from './wait-until.js';

/** Test accuracy and loss of the model after an epoch (rank 0 computes it). */
export interface EpochEvaluation {
  accuracy: number;
  loss: number;
  count: number;
}

/** One step's orders for the ranks of one endpoint: the shard of each, in rank order. */
export interface EndpointStep {
  step: number;
  epoch: number;
  globalCount: number;
  shards: Int32Array[];
}

/**
 * Where some of the job's ranks run: a worker process behind a WebSocket, or the rank
 * threads of this very process. Its ranks are global ranks rankOffset .. rankOffset+ranks-1.
 */
export interface JobEndpoint {
  readonly rankOffset: number;
  readonly ranks: number;
  sendStep(order: EndpointStep): void;
  sendEvaluate(epoch: number): void;
  sendFinish(): void;
}

export interface JobDriverHooks {
  /** After every global step, with every rank's report in rank order. */
  onStep?: (progress: StepProgress, reports: RankStepReport[]) => void;
  onEpochEnd?: (epoch: number, evaluation: EpochEvaluation) => void;
}

export interface JobDriverOptions {
  schedule: StepSchedule;
  /** Steps already committed (a driver that takes over after a regroup or a resume starts there). Default 0. */
  startStep?: number;
  /** An epoch whose evaluation must be asked for before the first step (it was lost in a regroup). */
  evaluateFirst?: number;
  /** Progress across drivers of one run. Default: a new tracker from startStep. */
  tracker?: ProgressTracker;
  /**
   * Called when every rank reported a step (the step is committed), with each rank's
   * report (rank order) and the shard it was sent; the reports' digests matched the shards.
   */
  onCommit?: (step: number, reports: readonly RankStepDone[], shards: readonly Int32Array[]) => void;
  endpoints: readonly JobEndpoint[];
  /** How shards are sized. Default `even`. */
  balance?: BalanceMode;
  /** Fixed relative shard size of every rank (tests, benchmarks); overrides `balance`. */
  shardWeights?: readonly number[];
  /** Steps sent ahead of the one being computed at first; grows while ranks wait for their orders, up to MAX_PREFETCH. Default 2. */
  prefetch?: number;
  /** Deadline for every rank to report one step, an evaluation or the finish. Default 300 s. */
  stepTimeoutMs?: number;
  hooks?: JobDriverHooks;
  /**
   * Asked after every epoch's evaluation (once `hooks.onEpochEnd` has seen it) whether the
   * run stops there (early stopping). When given, no step of the next epoch is sent before
   * the answer: a stopped run ends on the model that was evaluated, and orders sent from
   * `onEpochEnd` (a best-model checkpoint) reach the ranks before the next epoch's steps.
   */
  stopAfter?: (epoch: number, evaluation: EpochEvaluation) => boolean;
}

export interface JobDriverResult {
  /** Steps committed in the whole run (this driver's and its predecessors'). */
  steps: number;
  /** The driver was paused at a step boundary (the run goes on with another driver). */
  paused: boolean;
  /** `stopAfter` ended the run after the last evaluation, before its last scheduled step. */
  stoppedEarly: boolean;
  samples: number;
  elapsedSec: number;
  /** The last evaluation rank 0 reported. */
  lastEvaluation: EpochEvaluation | undefined;
  /** Mean over steps of every rank's timings, in rank order. */
  meanReports: RankStepReport[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Most steps the adaptive prefetch sends ahead: bounds the coordinator's memory (shards in flight) and a regroup's waste. */
export const MAX_PREFETCH = 8;
/** A rank's wait for its next order shorter than this is noise, not a starved link. */
const STARVED_MS = 5;

/**
 * Runs a job's steps over its endpoints, whatever carries the orders: cuts every global
 * batch of the schedule into one shard per rank (sized by the balancer), keeps `prefetch`
 * steps in flight so no rank waits for its next shard (more while ranks still wait), collects every rank's report,
 * asks for the end-of-epoch evaluation, and finally for the finish. The first failure
 * (an endpoint's, or a missed deadline) ends the run.
 */
export class JobDriver {
  private readonly schedule: StepSchedule;
  private readonly endpoints: readonly JobEndpoint[];
  private readonly worldSize: number;
  private readonly balancer: ShardBalancer;
  private readonly shardWeights: readonly number[] | undefined;
  /** Steps sent ahead of the one awaited; grows (up to MAX_PREFETCH) while ranks wait for their orders. */
  private prefetch: number;
  private readonly stepTimeoutMs: number;
  private readonly hooks: JobDriverHooks;
  private readonly stepReports: StepReports;
  private readonly evaluations = new Map<number, { endpoints: Set<number>; evaluation?: EpochEvaluation }>();
  private readonly finishedEndpoints = new Set<number>();
  private readonly waits = new WaitUntil(() => this.failure);
  private failure: Error | undefined;
  private readonly startStep: number;
  private readonly evaluateFirst: number | undefined;
  private readonly tracker: ProgressTracker;
  private readonly onCommit: JobDriverOptions['onCommit'];
  private completed: number;
  private sentUpTo: number;
  private pausing: (() => void) | undefined;
  private paused = false;
  private readonly stopAfter: JobDriverOptions['stopAfter'];
  /** The last epoch whose evaluation `stopAfter` has judged: with `stopAfter`, no step of a later epoch but the next is sent. */
  private judgedEpoch: number;

  constructor(options: JobDriverOptions) {
    this.schedule = options.schedule;
    this.endpoints = options.endpoints;
    this.worldSize = options.endpoints.reduce((n, e) => n + e.ranks, 0);
    let expected = 0;
    for (const e of options.endpoints) {
      if (e.rankOffset !== expected) {
        throw new JobError('JOB_ERR_BAD_OPTION', `endpoint ranks are not contiguous: expected offset ${expected}, got ${e.rankOffset}`);
      }
      expected += e.ranks;
    }
    this.balancer = new ShardBalancer({ mode: options.balance ?? 'even', ranks: this.worldSize });
    this.stepReports = new StepReports(this.worldSize);
    if (options.shardWeights !== undefined && options.shardWeights.length !== this.worldSize) {
      throw new JobError('JOB_ERR_BAD_OPTION', `${options.shardWeights.length} shard weights for ${this.worldSize} ranks`);
    }
    this.shardWeights = options.shardWeights;
    this.prefetch = options.prefetch ?? 2;
    this.startStep = options.startStep ?? 0;
    this.evaluateFirst = options.evaluateFirst;
    this.tracker = options.tracker ?? new ProgressTracker(this.schedule.stepsPerEpoch, this.schedule.totalSteps, this.startStep);
    this.onCommit = options.onCommit;
    this.stopAfter = options.stopAfter;
    this.judgedEpoch = Math.floor(this.startStep / this.schedule.stepsPerEpoch) - 1;
    this.completed = this.startStep - 1;
    this.sentUpTo = this.startStep;
    this.stepTimeoutMs = options.stepTimeoutMs ?? 300_000;
    this.hooks = options.hooks ?? {};
  }

  /**
   * Reports of some ranks for one step (an endpoint may send its ranks' together).
   * Throws COORD_ERR_BAD_REPORT or COORD_ERR_SHARD_MISMATCH, keeping none of them, when
   * they cannot be right (see StepReports): the caller drops whoever sent them.
   */
  stepDone(step: number, reports: readonly RankStepDone[]): void {
    this.stepReports.accept(step, reports);
    this.wake();
  }

  /** An endpoint finished the end-of-epoch work; the one hosting rank 0 brings the evaluation. */
  evaluated(endpoint: number, epoch: number, evaluation?: EpochEvaluation): void {
    const entry = this.evaluations.get(epoch) ?? { endpoints: new Set<number>() };
    entry.endpoints.add(endpoint);
    if (evaluation !== undefined) entry.evaluation = evaluation;
    this.evaluations.set(epoch, entry);
    this.wake();
  }

  finished(endpoint: number): void {
    this.finishedEndpoints.add(endpoint);
    this.wake();
  }

  /** Ends the run with `error` (the first failure wins). */
  fail(error: Error): void {
    if (this.failure === undefined) this.failure = error;
    this.wake();
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /** The last step every rank reported (-1 before the first). */
  get lastCompletedStep(): number {
    return this.completed;
  }

  /**
   * Stops sending steps and resolves, with the last completed step, once every step sent
   * is done: a step boundary where the ring can change without rolling anything back.
   * `run()` then resolves early with `paused` set.
   */
  pause(): Promise<number> {
    this.paused = true;
    return new Promise((resolve) => {
      this.pausing = () => resolve(this.completed);
      this.wake();
    });
  }

  async run(): Promise<JobDriverResult> {
    const { schedule } = this;
    const tracker = this.tracker;
    const totals: Mutable<RankStepReport>[] = Array.from({ length: this.worldSize }, (_, rank) => ({
      rank, lossSum: 0, correct: 0, count: 0, computeMs: 0, syncBnMs: 0, allReduceMs: 0, applyMs: 0, waitMs: 0,
    }));
    let lastEvaluation: EpochEvaluation | undefined;
    let samples = 0;
    const started = performance.now();
    if (this.evaluateFirst !== undefined) {
      for (const endpoint of this.endpoints) endpoint.sendEvaluate(this.evaluateFirst);
      lastEvaluation = await this.awaitEvaluation(this.evaluateFirst) ?? lastEvaluation;
    }
    let stoppedEarly = false;
    for (let done = this.startStep; done < schedule.totalSteps; done++) {
      while (!this.paused && this.sentUpTo < schedule.totalSteps && this.sentUpTo <= done + this.prefetch && this.judged(this.sentUpTo)) {
        this.send(this.sentUpTo++);
      }
      if (done >= this.sentUpTo) break; // paused with nothing in flight
      await this.waitFor(`step ${done + 1}`, () => this.stepReports.complete(done));
      const { reports, shards } = this.stepReports.commit(done);
      let lossSum = 0;
      let correct = 0;
      let count = 0;
      for (const r of reports) {
        lossSum += r.lossSum;
        correct += r.correct;
        count += r.count;
        // Compute time only: SyncBN waits include waiting for the slowest rank.
        this.balancer.observe(r.rank, r.count, r.computeMs);
        const t = totals[r.rank];
        if (t !== undefined) for (const key of ['computeMs', 'syncBnMs', 'allReduceMs', 'applyMs', 'waitMs'] as const) t[key] += r[key];
      }
      samples += count;
      this.deepenPrefetchIfStarved(reports);
      this.completed = done;
      this.onCommit?.(done, reports, shards);
      const { epoch, stepInEpoch, endsEpoch } = schedule.at(done);
      this.hooks.onStep?.(tracker.record(epoch, stepInEpoch, lossSum, correct, count), reports.map(withoutDigest));
      if (endsEpoch) {
        const evaluation = await this.awaitEvaluation(epoch);
        lastEvaluation = evaluation ?? lastEvaluation;
        this.judgedEpoch = epoch;
        if (evaluation !== undefined && this.stopAfter?.(epoch, evaluation) === true && done + 1 < schedule.totalSteps) {
          stoppedEarly = true;
          break;
        }
      }
      if (this.paused && done + 1 >= this.sentUpTo) break;
    }
    const steps = Math.max(1, this.completed + 1 - this.startStep);
    const result = {
      steps: this.completed + 1,
      samples,
      elapsedSec: (performance.now() - started) / 1000,
      lastEvaluation,
      meanReports: totals.map((t) => ({
        ...t,
        computeMs: t.computeMs / steps,
        syncBnMs: t.syncBnMs / steps,
        allReduceMs: t.allReduceMs / steps,
        applyMs: t.applyMs / steps,
        waitMs: t.waitMs / steps,
      })),
      paused: this.paused,
      stoppedEarly,
    };
    if (this.paused) {
      this.pausing?.();
      return result;
    }
    for (const endpoint of this.endpoints) endpoint.sendFinish();
    await this.waitFor('finishing', () => this.finishedEndpoints.size >= this.endpoints.length);
    return result;
  }

  private async awaitEvaluation(epoch: number): Promise<EpochEvaluation | undefined> {
    await this.waitFor(`evaluating epoch ${epoch + 1}`, () => (this.evaluations.get(epoch)?.endpoints.size ?? 0) >= this.endpoints.length);
    const evaluation = this.evaluations.get(epoch)?.evaluation;
    this.evaluations.delete(epoch);
    if (evaluation !== undefined) this.hooks.onEpochEnd?.(epoch, evaluation);
    return evaluation;
  }

  /**
   * A rank that waited for its order (a slow link to it, streamed samples) longer than a
   * fifth of its step, and more than STARVED_MS, had nothing queued: one more step goes
   * ahead from now on, up to MAX_PREFETCH, so the link's delay hides behind the work.
   * It never shrinks: a fast link simply never fills the deeper queue's wait.
   */
  private deepenPrefetchIfStarved(reports: readonly RankStepDone[]): void {
    if (this.prefetch >= MAX_PREFETCH) return;
    const busy = (r: RankStepDone): number => r.computeMs + r.syncBnMs + r.allReduceMs + r.applyMs;
    if (reports.some((r) => r.waitMs > STARVED_MS && r.waitMs > busy(r) / 5)) this.prefetch++;
  }

  /** Whether `step` may be sent: with `stopAfter`, only once the epoch before its own has been judged. */
  private judged(step: number): boolean {
    return this.stopAfter === undefined || Math.floor(step / this.schedule.stepsPerEpoch) <= this.judgedEpoch + 1;
  }

  /** Steps in flight now allowed (tests). */
  get prefetchDepth(): number {
    return this.prefetch;
  }

  private send(step: number): void {
    const { epoch, indices, endsEpoch } = this.schedule.at(step);
    const sizes = this.shardWeights === undefined ? this.balancer.sizes(indices.length) : proportionalShardSizes(indices.length, this.shardWeights);
    const shards = cutShards(indices, sizes);
    this.stepReports.sent(step, indices, shards);
    for (const endpoint of this.endpoints) {
      endpoint.sendStep({ step, epoch, globalCount: indices.length, shards: shards.slice(endpoint.rankOffset, endpoint.rankOffset + endpoint.ranks) });
      if (endsEpoch) endpoint.sendEvaluate(epoch);
    }
  }

  private waitFor(what: string, ready: () => boolean): Promise<void> {
    const timeoutSec = Math.round(this.stepTimeoutMs / 1000);
    return this.waits.until(ready, this.stepTimeoutMs, () => new JobError('COORD_ERR_STEP_TIMEOUT', `${what}: not every rank reported within ${timeoutSec} s`));
  }

  private wake(): void {
    this.waits.wake();
  }
}
