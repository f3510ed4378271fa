import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo } from '@tfjs-ddp/backend';
import { joinThreadGroup, type ThreadCommunicator } from '@tfjs-ddp/collective';
import { ArrayDataset, openSharedDataset, type Dataset } from '@tfjs-ddp/data';
import { bnGroupRanks, convertToSyncBN, LOCAL_BATCH_NORM_GROUP, parseBnMode, syncBatchNormLayers, type BatchNormGroup, type BnMode } from '@tfjs-ddp/nn';
import { reportedMs, sampleDigest } from '@tfjs-ddp/protocol';
import { buildModel, evaluate, modelArtifacts, readAllWeights, recalibrateModelBatchNorm, recalibratesAt, Replica, saveModel } from '@tfjs-ddp/trainer';
import type { BnRecalibration, RecalibrationPoint } from '@tfjs-ddp/trainer';
import { WorkerError } from './errors.js';
import type { CheckpointOrder, CheckpointTaken, EvaluateOrder, Evaluated, Finished, FinishOrder, RankInit, RegroupOrder, Regrouped, StepDone, StepOrder } from './rank-messages.js';
import { plantWrongShard } from './test-faults.js';
import { TimedBatchNormGroup } from './timed-group.js';
import { divergentRanks, weightsChecksum } from './weights-checksum.js';

/** Pre-step states kept for rolling back steps that were applied here but not by every rank. */
const SNAPSHOTS_KEPT = 4;

/**
 * One rank's replica and its part of every step: compute summed gradients on its shard
 * (SyncBN layers block in their collectives meanwhile), all-reduce them over every
 * rank, apply the same update as every other rank. Before applying a step it keeps the
 * state it had, so that when the ring fails mid-way it can go back to the last step
 * every rank finished, join the next ring and go on.
 */
export class RankRunner {
  private gradients: Float32Array;
  private lastOrderDoneAt = performance.now();
  private generation: number;
  private rank: number;
  private worldSize: number;
  private communicator: ThreadCommunicator;
  /** The last step this rank applied (-1: none). */
  private lastApplied = -1;
  /** State before step s (after s - 1), for the last few steps applied. */
  private readonly snapshots = new Map<number, Float32Array>();

  private constructor(
    readonly backend: BackendInfo,
    private readonly init: RankInit,
    communicator: ThreadCommunicator,
    private readonly bnMode: BnMode,
    private readonly bnGroup: TimedBatchNormGroup,
    private readonly replica: Replica,
    private readonly train: Dataset | undefined,
    private readonly test: Dataset | undefined,
  ) {
    this.generation = init.generation;
    this.rank = init.rank;
    this.worldSize = init.worldSize;
    this.communicator = communicator;
    this.gradients = gradientBuffer(communicator, replica.gradientSize);
  }

  static async create(init: RankInit): Promise<RankRunner> {
    const backend = await initBackend(init.backend);
    const train = init.train === undefined ? undefined : openSharedDataset(init.train);
    const test = init.test === undefined ? undefined : openSharedDataset(init.test);
    const bnMode = parseBnMode(init.bnMode);
    const communicator = joinThreadGroup(init.communicator, init.localRank);
    const bnGroup = new TimedBatchNormGroup(bnGroupOf(communicator, bnMode, init.rank, init.worldSize));
    // Building a model needs only the shape of a sample and the classes.
    const shapeOnly = new ArrayDataset({ name: 'shape', x: new Float32Array(0), y: new Int32Array(0), inputShape: init.inputShape, numClasses: init.numClasses });
    const built = await buildModel(init.config, { train: shapeOnly, test: shapeOnly });
    const model = await convertToSyncBN(built, bnGroup);
    if (model !== built) built.dispose();
    const replica = new Replica({ model, optimizer: init.config.optimizer, runSeed: init.config.seed });
    if (init.initialState !== undefined) replica.writeState(init.initialState);
    // Rank 0's whole state for everyone: identical replicas even for unseeded user
    // models, a resumed checkpoint, or ranks joining a running job.
    const state = replica.readState();
    communicator.broadcast(state, 0);
    replica.writeState(state);
    return new RankRunner(backend, init, communicator, bnMode, bnGroup, replica, train, test);
  }

  get parameters(): number {
    return this.replica.gradientSize;
  }

  get currentRank(): number {
    return this.rank;
  }

  /** Whether an order belongs to the current ring (orders sent before a regroup are dropped). */
  current(order: { generation: number }): boolean {
    return order.generation === this.generation;
  }

  step(order: StepOrder): StepDone {
    const started = performance.now();
    const waitMs = started - this.lastOrderDoneAt;
    const shard = this.shard(this.withTestFaults(order));
    if (shard.indices.length !== shard.count) {
      throw new WorkerError('WORKER_ERR_PROTOCOL', `step ${order.step + 1}: ${shard.count} samples for ${shard.indices.length} indices`);
    }
    const before = this.replica.readState();
    // BN wait time of a step that failed part-way is not this step's.
    this.bnGroup.take();
    let result: ReturnType<Replica['computeGradients']>;
    let computed: number;
    let syncBnMs: number;
    try {
      result = this.replica.computeGradients(shard, order.step, this.gradients);
      computed = performance.now();
      syncBnMs = this.bnGroup.take();
      this.communicator.allReduce(this.gradients, 'sum');
    } catch (error) {
      // A step that fails part-way (a peer lost) may have moved BN moving statistics in
      // the layers it got through, and each survivor got through a different number:
      // undo it, so that every survivor is exactly at its last applied step.
      this.replica.writeState(before);
      throw error;
    }
    const reduced = performance.now();
    this.keepSnapshot(order.step, before);
    this.replica.applyGradients(this.gradients, order.globalCount);
    this.lastApplied = order.step;
    const applied = performance.now();
    const every = this.init.checkReplicasEvery;
    if (every > 0 && (order.step + 1) % every === 0) this.checkReplicas(order.step);
    this.lastOrderDoneAt = performance.now();
    return {
      kind: 'stepDone',
      generation: this.generation,
      step: order.step,
      report: {
        rank: this.rank,
        lossSum: result.lossSum,
        correct: result.correct,
        count: result.count,
        computeMs: reportedMs(computed - started - syncBnMs),
        syncBnMs: reportedMs(syncBnMs),
        allReduceMs: reportedMs(reduced - computed),
        applyMs: reportedMs(applied - reduced),
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

  private keepSnapshot(step: number, state: Float32Array): void {
    this.snapshots.set(step, state);
    for (const s of this.snapshots.keys()) if (s <= step - SNAPSHOTS_KEPT) this.snapshots.delete(s);
  }

  private shard(order: StepOrder): { x: Float32Array; y: Int32Array; count: number; indices: Int32Array } {
    if (order.x !== undefined && order.y !== undefined) return { x: order.x, y: order.y, count: order.indices.length, indices: order.indices };
    if (this.train === undefined) throw new WorkerError('WORKER_ERR_BAD_OPTION', `step ${order.step} came without samples and this rank holds no training set`);
    return { ...this.train.batch(order.indices), indices: order.indices };
  }

  evaluate(order: EvaluateOrder): Evaluated {
    this.shareMovingStatistics();
    const bnRecalibration = this.recalibrateBatchNorm('epoch'); // issue 20: precise BN before the epoch's evaluation
    const evaluation = this.rank === 0 && this.test !== undefined ? { ...evaluate(this.replica.model, this.test), ...bnRecalibration } : undefined;
    this.lastOrderDoneAt = performance.now();
    return { kind: 'evaluated', generation: this.generation, rank: this.rank, epoch: order.epoch, evaluation };
  }

  /**
   * Joins the ring of `order.generation`: back to the state after `rollbackTo` first (the
   * steps after it were not finished by every rank and will be redone), then the new
   * thread group, then rank 0's state if a rank joins.
   */
  regroup(order: RegroupOrder): Regrouped {
    if (this.lastApplied > order.rollbackTo) {
      const state = this.snapshots.get(order.rollbackTo + 1);
      if (state === undefined) {
        throw new WorkerError('WORKER_ERR_RANK_FAILED', `rank ${this.rank} cannot roll back from step ${this.lastApplied + 1} to step ${order.rollbackTo + 1}: it keeps the states of its last ${SNAPSHOTS_KEPT} steps only`);
      }
      this.replica.writeState(state);
    }
    this.lastApplied = order.rollbackTo;
    this.snapshots.clear();
    this.generation = order.generation;
    this.rank = order.rank;
    this.worldSize = order.worldSize;
    this.communicator = joinThreadGroup(order.communicator, this.init.localRank);
    this.bnGroup.replace(bnGroupOf(this.communicator, this.bnMode, this.rank, this.worldSize));
    this.gradients = gradientBuffer(this.communicator, this.replica.gradientSize);
    if (order.shareState) {
      const state = this.replica.readState();
      this.communicator.broadcast(state, 0);
      this.replica.writeState(state);
    }
    this.lastOrderDoneAt = performance.now();
    return { kind: 'regrouped', rank: this.rank, generation: this.generation };
  }

  async checkpoint(order: CheckpointOrder): Promise<CheckpointTaken> {
    // Outside `sync` the moving statistics are per rank; a checkpoint holds their mean.
    this.shareMovingStatistics();
    this.recalibrateBatchNorm('checkpoint'); // issue 20: the checkpoint's model holds precise BN statistics
    if (this.lastApplied !== order.step) {
      throw new WorkerError('WORKER_ERR_PROTOCOL', `a checkpoint after step ${order.step + 1} was asked for, but rank ${this.rank} is after step ${this.lastApplied + 1}`);
    }
    if (this.rank !== 0) return { kind: 'checkpoint', rank: this.rank, step: order.step };
    return { kind: 'checkpoint', rank: this.rank, step: order.step, data: { model: await modelArtifacts(this.replica.model), state: this.replica.readState() } };
  }

  async finish(order: FinishOrder): Promise<Finished> {
    this.shareMovingStatistics();
    const bnRecalibration = this.recalibrateBatchNorm('end'); // issue 20: the evaluated and saved model holds precise BN statistics
    const finished: Finished = { kind: 'finished', rank: this.rank };
    if (this.rank === 0) {
      if (this.test !== undefined) finished.evaluation = { ...evaluate(this.replica.model, this.test), ...bnRecalibration };
      if (order.saveTo !== undefined) finished.modelPath = await saveModel(this.replica.model, order.saveTo);
      if (order.returnModel) finished.model = await modelArtifacts(this.replica.model);
    }
    if (order.returnWeights) finished.weights = readAllWeights(this.replica.model);
    this.replica.dispose();
    return finished;
  }

  /**
   * Outside `sync`, replicas keep their own moving statistics; inference and the saved
   * model use their mean over all ranks. Every rank must call this together.
   */
  private shareMovingStatistics(): void {
    if (this.bnMode.kind === 'sync' || this.worldSize === 1) return;
    for (const layer of syncBatchNormLayers(this.replica.model)) {
      const [movingMean, movingVariance] = layer.weights.slice(-2);
      if (movingMean === undefined || movingVariance === undefined) continue;
      const mean = movingMean.read().dataSync() as Float32Array;
      const buffer = new Float32Array(mean.length * 2);
      buffer.set(mean, 0);
      buffer.set(movingVariance.read().dataSync() as Float32Array, mean.length);
      this.communicator.allReduce(buffer, 'mean');
      tf.tidy(() => {
        movingMean.write(tf.tensor1d(buffer.subarray(0, mean.length)));
        movingVariance.write(tf.tensor1d(buffer.subarray(mean.length)));
      });
    }
  }

  /**
   * Issue 20 (precise BN): when the job's config asks for it at `point`, every rank
   * recomputes the BN moving statistics over the fixed recalibration samples, merged over
   * all ranks whatever the BN mode, so that they end up equal on every rank. Every rank
   * must call this together. Returns the report for rank 0's evaluation.
   */
  private recalibrateBatchNorm(point: RecalibrationPoint): { bnRecalibration?: BnRecalibration } {
    if (!recalibratesAt(this.init.config, point)) return {};
    return { bnRecalibration: recalibrateModelBatchNorm(this.replica.model, this.train, this.init.config, this.communicator) };
  }

  /** Stops the job on every rank if any replica's weights differ from rank 0's. */
  private checkReplicas(step: number): void {
    // Outside sync mode moving statistics differ by design: compare what training shares.
    const weights = this.bnMode.kind === 'sync' ? readAllWeights(this.replica.model) : this.trainableWeights();
    const gathered = new Float32Array(2 * this.communicator.size);
    this.communicator.allGather(weightsChecksum(weights), gathered);
    const divergent = divergentRanks(gathered);
    if (divergent.length > 0) {
      throw new WorkerError('WORKER_ERR_REPLICAS_DIVERGED', `after step ${step + 1} the weights of rank(s) ${divergent.join(', ')} differ from rank 0's`);
    }
  }

  private trainableWeights(): Float32Array {
    const out = new Float32Array(this.replica.gradientSize);
    let offset = 0;
    for (const v of this.replica.trainableVariables) {
      out.set(v.dataSync() as Float32Array, offset);
      offset += v.size;
    }
    return out;
  }
}

/** The group whose BN statistics this rank merges; every member makes the same split call, in the same order. */
function bnGroupOf(communicator: ThreadCommunicator, mode: BnMode, rank: number, worldSize: number): BatchNormGroup {
  if (mode.kind === 'local') return LOCAL_BATCH_NORM_GROUP;
  if (mode.kind === 'sync') return communicator;
  return communicator.split(bnGroupRanks(mode, rank, worldSize));
}

/**
 * The gradient buffer, in the thread group's shared memory when it fits (the all-reduce
 * then works on it in place, no copy in and out), else an ordinary array.
 */
function gradientBuffer(communicator: ThreadCommunicator, length: number): Float32Array {
  try {
    return communicator.allocShared(length);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'COLL_ERR_ARGUMENT') throw error;
    return new Float32Array(length);
  }
}
