import { initBackend, type BackendInfo } from '@tfjs-ddp/backend';
import { joinThreadGroup } from '@tfjs-ddp/collective';
import { openSharedDataset, type Dataset } from '@tfjs-ddp/data';
import { parseBnMode } from '@tfjs-ddp/nn';
import { reportedMs, sampleDigest } from '@tfjs-ddp/protocol';
import { DistributedReplica, type Shard } from '@tfjs-ddp/trainer';
import { WorkerError, type WorkerErrorCode } from './errors.js';
import type { CheckpointOrder, CheckpointTaken, EvaluateOrder, Evaluated, Finished, FinishOrder } from './rank-messages.js';
import type { RankInit, RegroupOrder, Regrouped, StepDone, StepOrder } from './rank-messages.js';
import { plantWrongShard } from './test-faults.js';

/**
 * The trainer's errors a rank reports under the worker's code, as before the distributed
 * step moved into the trainer: the coordinator and the tests read these codes.
 */
const REPORTED_AS: Readonly<Record<string, WorkerErrorCode>> = {
  TRAINER_ERR_REPLICAS_DIVERGED: 'WORKER_ERR_REPLICAS_DIVERGED',
  TRAINER_ERR_ROLLBACK: 'WORKER_ERR_RANK_FAILED',
  TRAINER_ERR_STEP_ORDER: 'WORKER_ERR_PROTOCOL',
};

/** `error` under the worker's code when the trainer's has one there (see REPORTED_AS); else itself. */
export function asWorkerError(error: unknown): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  const own = typeof code === 'string' ? REPORTED_AS[code] : undefined;
  return own === undefined ? error : new WorkerError(own, (error as Error).message, { cause: error });
}

function translated<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw asWorkerError(error);
  }
}

/** `translated` for the replica's async calls (async so that webgpu can read back; see the trainer's `settleReads`). */
async function translatedAsync<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw asWorkerError(error);
  }
}

/** Imports a module that registers a user's classes; its failure names the module. */
async function importRegistration(module: string): Promise<void> {
  try {
    await import(module);
  } catch (cause) {
    throw new WorkerError('WORKER_ERR_BAD_OPTION', `cannot import the registration module ${module}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * The host of one rank thread's replica: sets up the backend, the shared data sets and
 * the thread group, then turns rank orders into calls of the trainer's
 * `DistributedReplica` and its results into rank reports. The distributed step itself
 * (rollback, moving statistics, replica checks, BN groups) is the trainer's.
 */
export class RankRunner {
  private lastOrderDoneAt = performance.now();
  private generation: number;

  private constructor(
    readonly backend: BackendInfo,
    private readonly init: RankInit,
    private readonly replica: DistributedReplica,
    private readonly train: Dataset | undefined,
    private readonly test: Dataset | undefined,
  ) {
    this.generation = init.generation;
  }

  static async create(init: RankInit): Promise<RankRunner> {
    const backend = await initBackend(init.backend, init.backendOptions);
    for (const module of init.register ?? []) await importRegistration(module);
    const train = init.train === undefined ? undefined : openSharedDataset(init.train);
    const test = init.test === undefined ? undefined : openSharedDataset(init.test);
    const replica = await DistributedReplica.create({
      config: init.config,
      bnMode: parseBnMode(init.bnMode),
      communicator: joinThreadGroup(init.communicator, init.localRank),
      rank: init.rank,
      worldSize: init.worldSize,
      inputShape: init.inputShape,
      numClasses: init.numClasses,
      checkReplicasEvery: init.checkReplicasEvery,
      ...(init.bucketBytes === undefined ? {} : { bucketBytes: init.bucketBytes }),
      ...(train === undefined ? {} : { train }),
      ...(init.initialState === undefined ? {} : { initialState: init.initialState }),
      ...(init.model === undefined ? {} : { model: init.model }),
    });
    return new RankRunner(backend, init, replica, train, test);
  }

  get parameters(): number {
    return this.replica.parameters;
  }

  /** Buckets of the gradient all-reduce that overlaps backward in the current ring (0: none). */
  get gradientBuckets(): number {
    return this.replica.gradientBuckets;
  }

  get currentRank(): number {
    return this.replica.rank;
  }

  /** Whether an order belongs to the current ring (orders sent before a regroup are dropped). */
  current(order: { generation: number }): boolean {
    return order.generation === this.generation;
  }

  async step(order: StepOrder): Promise<StepDone> {
    const started = performance.now();
    const waitMs = started - this.lastOrderDoneAt;
    const shard = this.shard(this.withTestFaults(order));
    if (shard.indices.length !== shard.count) {
      throw new WorkerError('WORKER_ERR_PROTOCOL', `step ${order.step + 1}: ${shard.count} samples for ${shard.indices.length} indices`);
    }
    const done = await translatedAsync(() => this.replica.step(shard, order.step, order.globalCount, started));
    this.lastOrderDoneAt = performance.now();
    return {
      kind: 'stepDone',
      generation: this.generation,
      step: order.step,
      report: {
        rank: this.replica.rank,
        lossSum: done.lossSum,
        correct: done.correct,
        count: done.count,
        computeMs: reportedMs(done.computeMs),
        syncBnMs: reportedMs(done.syncBnMs),
        allReduceMs: reportedMs(done.allReduceMs),
        applyMs: reportedMs(done.applyMs),
        waitMs: reportedMs(waitMs),
        // Of the indices whose samples went into the model (and its dropout masks): the coordinator checks them against the shard.
        sampleDigest: sampleDigest(shard.indices),
      },
    };
  }

  /** The order as a test fault makes this rank train it (see test-faults.ts); as given otherwise. */
  private withTestFaults(order: StepOrder): StepOrder {
    const from = this.init.testFaults?.wrongShardFromStep;
    return from !== undefined && order.step >= from ? plantWrongShard(order) : order;
  }

  private shard(order: StepOrder): Shard {
    if (order.x !== undefined && order.y !== undefined) return { x: order.x, y: order.y, count: order.indices.length, indices: order.indices };
    if (this.train === undefined) {
      throw new WorkerError('WORKER_ERR_BAD_OPTION', `step ${order.step} came without samples and this rank holds no training set`);
    }
    return { ...this.train.batch(order.indices), indices: order.indices };
  }

  async evaluate(order: EvaluateOrder): Promise<Evaluated> {
    const evaluation = await translatedAsync(() => this.replica.evaluate(this.test));
    this.lastOrderDoneAt = performance.now();
    return { kind: 'evaluated', generation: this.generation, rank: this.replica.rank, epoch: order.epoch, evaluation };
  }

  /**
   * Joins the ring of `order.generation`: the replica rolls back first (the steps after
   * `rollbackTo` were not finished by every rank and will be redone), then the new thread
   * group, then rank 0's state if a rank joins.
   */
  async regroup(order: RegroupOrder): Promise<Regrouped> {
    translated(() => this.replica.rollBack(order.rollbackTo));
    const communicator = joinThreadGroup(order.communicator, this.init.localRank);
    await this.replica.joinRing({ communicator, rank: order.rank, worldSize: order.worldSize }, order.shareState);
    this.generation = order.generation;
    this.lastOrderDoneAt = performance.now();
    return { kind: 'regrouped', rank: this.replica.rank, generation: this.generation };
  }

  async checkpoint(order: CheckpointOrder): Promise<CheckpointTaken> {
    const data = await this.replica.checkpoint(order.step).catch((error: unknown) => Promise.reject(asWorkerError(error)));
    const taken: CheckpointTaken = { kind: 'checkpoint', rank: this.replica.rank, step: order.step };
    if (data !== undefined) taken.data = data;
    return taken;
  }

  async finish(order: FinishOrder): Promise<Finished> {
    const { saveTo, returnModel, returnWeights } = order;
    const test = this.test === undefined ? {} : { test: this.test };
    const done = await this.replica.finish({ ...test, ...(saveTo === undefined ? {} : { saveTo }), returnModel, returnWeights });
    return { kind: 'finished', rank: this.replica.rank, ...done };
  }
}
