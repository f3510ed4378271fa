import * as tf from '@tensorflow/tfjs';
import { ArrayDataset, type Dataset } from '@tfjs-ddp/data';
import { bnGroupRanks, convertToSyncBN, LOCAL_BATCH_NORM_GROUP, syncBatchNormLayers, type BatchNormGroup, type BnMode } from '@tfjs-ddp/nn';
import { recalibrateModelBatchNormAsync, recalibratesAt, type BnRecalibration, type RecalibrationPoint } from '../bn-recalibration.js';
import { TrainerError } from '../errors.js';
import { evaluateAsync, type Evaluation } from '../evaluate.js';
import { readAllWeights, readVariables } from '../flat-weights.js';
import { settleReads } from '../read-back.js';
import { loadModelBytes, modelArtifacts, saveModel, type ModelArtifactsBytes } from '../model-files.js';
import { Replica, type Shard, type ShardGradients } from '../replica.js';
import { buildModel } from '../single-replica.js';
import type { TrainConfig } from '../train-config.js';
import { trainingRulesOf } from '../training-rules.js';
import type { ReplicaCommunicator } from './replica-communicator.js';
import { refuseOnAsyncOnlyBackend } from './async-only-backend.js';
import { TimedBatchNormGroup } from './timed-group.js';
import type { BucketedAllReduce, OverlapReport } from './gradient-buckets.js';
import { agreeOnBuckets, bucketBytesFromEnv, DEFAULT_BUCKET_BYTES, gradientBuffer, stepTraceFromEnv, writeStepTrace } from './overlap.js';
import { divergentRanks, weightsChecksum } from './weights-checksum.js';

/** Pre-step states kept for rolling back steps that were applied here but not by every rank. */
export const SNAPSHOTS_KEPT = 4;

/** Where a replica stands in its group: the ring it belongs to, and its place in it. */
export interface ReplicaPlace {
  /** The group of this ring (a `ThreadCommunicator` of @tfjs-ddp/collective; the host joins it). */
  communicator: ReplicaCommunicator;
  /** Global rank of this replica. */
  rank: number;
  worldSize: number;
}

export interface DistributedReplicaOptions extends ReplicaPlace {
  config: TrainConfig;
  bnMode: BnMode;
  /** Shape and classes of a sample: all that building the model needs. */
  inputShape: number[];
  numClasses: number;
  /** Compare a checksum of every replica's weights every this many steps (0: never). */
  checkReplicasEvery: number;
  /** Rank 0 only, on resume: the training state to start from (shared with every rank). */
  initialState?: Float32Array;
  /** The model itself (a library user's, as model-folder bytes) instead of the one `config.model` names. */
  model?: ModelArtifactsBytes;
  /**
   * The training set, for BN recalibration (precise BN) before evaluations, checkpoints
   * and the save; undefined on every rank when the ranks hold none (it then is skipped).
   */
  train?: Dataset;
  /**
   * Bucket size (bytes) of the gradient all-reduce that overlaps backward, in a group over
   * several processes; 0: one blocking all-reduce after backward (see `agreeOnBuckets`).
   * TFJS_DDP_TEST_BUCKET_BYTES wins when set; default DEFAULT_BUCKET_BYTES.
   */
  bucketBytes?: number;
}

/** One step of this replica, with where its time went (milliseconds). */
export interface DistributedStep extends ShardGradients {
  /** Forward and backward, SyncBN's collectives excluded. */
  computeMs: number;
  /** In SyncBN's collectives; with overlap, also waiting for buckets started before them (served in order). */
  syncBnMs: number;
  /** Waiting for the gradient all-reduce after backward: all of it, or with overlap what backward did not hide. */
  allReduceMs: number;
  applyMs: number;
  /** When the step's gradient buckets started, with the overlapped all-reduce. */
  overlap?: OverlapReport;
}

export interface FinishPlan {
  test?: Dataset;
  /** Rank 0 saves the model here as a plain tfjs model folder. */
  saveTo?: string;
  /** Rank 0 returns the model as the bytes of a tfjs model folder. */
  returnModel: boolean;
  /** Every rank returns its flat weights (tests compare replicas with them). */
  returnWeights: boolean;
}

export interface FinishedReplica {
  weights?: Float32Array;
  modelPath?: string;
  model?: ModelArtifactsBytes;
  /** Rank 0 only: the final model on the test set. */
  evaluation?: Evaluation;
}

/**
 * One rank's replica and its part of every step: compute summed gradients on its shard
 * (SyncBN layers block in their collectives meanwhile), all-reduce them over every
 * rank, apply the same update as every other rank. Before applying a step it keeps the
 * state it had, so that when the ring fails mid-way it can go back to the last step
 * every rank finished, join the next ring and go on. The host joins the groups and hands
 * them in; every method that uses the group must be called by every rank together.
 */
export class DistributedReplica {
  private gradients: Float32Array;
  private place: ReplicaPlace;
  /** The last step this rank applied (-1: none). */
  private applied = -1;
  /** State before step s (after s - 1), for the last few steps applied. */
  private readonly snapshots = new Map<number, Float32Array>();
  /**
   * The step after which every rank last recalibrated the BN statistics together: until
   * the next step they are those of the weights, equal on every rank (a rollback restores
   * a state taken after any recalibration of its step).
   */
  private recalibratedAfter: number | undefined;
  /** The bucketed all-reduce that overlaps backward, when every rank of the ring can run it. */
  private overlap: BucketedAllReduce | undefined;
  /** TFJS_DDP_TEST_STEP_TRACE: where each step's timeline goes (benchmarks). */
  private readonly stepTrace = stepTraceFromEnv();

  private constructor(
    place: ReplicaPlace,
    private readonly bnMode: BnMode,
    private readonly bnGroup: TimedBatchNormGroup,
    readonly replica: Replica,
    private readonly checkReplicasEvery: number,
    private readonly config: TrainConfig,
    private readonly train: Dataset | undefined,
    private readonly bucketBytes: number,
  ) {
    this.place = place;
    this.gradients = gradientBuffer(place.communicator, replica.gradientSize);
  }

  static async create(options: DistributedReplicaOptions): Promise<DistributedReplica> {
    const { config, bnMode, communicator } = options;
    const bnGroup = new TimedBatchNormGroup(bnGroupOf(communicator, bnMode, options.rank, options.worldSize));
    // Building a model needs only the shape of a sample and the classes.
    const shapeOnly = new ArrayDataset({
      name: 'shape', x: new Float32Array(0), y: new Int32Array(0), inputShape: options.inputShape, numClasses: options.numClasses,
    });
    const built = options.model === undefined ? await buildModel(config, { train: shapeOnly, test: shapeOnly }) : await loadModelBytes(options.model);
    const model = await convertToSyncBN(built, bnGroup);
    if (model !== built) built.dispose();
    refuseOnAsyncOnlyBackend(model, bnGroup);
    const { optimizer, seed: runSeed, loss } = config;
    const replica = new Replica({ model, optimizer, runSeed, rules: trainingRulesOf(config), loss, numClasses: options.numClasses });
    if (options.initialState !== undefined) replica.writeState(options.initialState);
    // Rank 0's whole state for everyone: identical replicas even for unseeded user
    // models, a resumed checkpoint, or ranks joining a running job.
    const state = await replica.readStateAsync();
    communicator.broadcast(state, 0);
    replica.writeState(state);
    const place = { communicator, rank: options.rank, worldSize: options.worldSize };
    const bucketBytes = bucketBytesFromEnv() ?? options.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    const distributed = new DistributedReplica(place, bnMode, bnGroup, replica, options.checkReplicasEvery, config, options.train, bucketBytes);
    // After the state broadcast, as in `joinRing`: a joining rank makes the same calls in the same order.
    distributed.overlap = distributed.agreeOnOverlap();
    return distributed;
  }

  /** The bucketed all-reduce of this ring, agreed on by every rank (see `agreeOnBuckets`). */
  private agreeOnOverlap(): BucketedAllReduce | undefined {
    const { gradients, replica, bnGroup, bucketBytes } = this;
    return agreeOnBuckets({ communicator: this.place.communicator, gradients, replica, bnGroup, bucketBytes });
  }

  /** Buckets of the gradient all-reduce that overlaps backward in this ring; 0: one blocking all-reduce after backward. */
  get gradientBuckets(): number {
    return this.overlap?.buckets.length ?? 0;
  }

  get parameters(): number {
    return this.replica.gradientSize;
  }

  get rank(): number {
    return this.place.rank;
  }

  get worldSize(): number {
    return this.place.worldSize;
  }

  /** The last step this rank applied (-1: none). */
  get lastApplied(): number {
    return this.applied;
  }

  /** Steps whose pre-step state is kept, oldest first (what `regroup` can roll back to the start of). */
  get snapshotSteps(): number[] {
    return [...this.snapshots.keys()].sort((a, b) => a - b);
  }

  /**
   * One step on `shard`; `started` is when the host began it (its shard's reading counts
   * as compute). Async only so that webgpu can read its results back (see `settleReads`):
   * on other backends nothing in it waits.
   */
  async step(shard: Shard, step: number, globalCount: number, started = performance.now()): Promise<DistributedStep> {
    const before = await this.replica.readStateAsync();
    // BN wait time of a step that failed part-way is not this step's.
    this.bnGroup.take();
    let result: ShardGradients;
    let computed: number;
    let syncBnMs: number;
    let overlap: OverlapReport | undefined;
    try {
      // With overlap, each bucket's all-reduce starts during backward, as soon as its gradients are in.
      this.overlap?.begin();
      result = await this.replica.computeGradientsAsync(shard, step, this.gradients, this.overlap);
      computed = performance.now();
      syncBnMs = this.bnGroup.take();
      // Only the gradients may travel compressed between processes (when the job asks for it).
      if (this.overlap === undefined) this.place.communicator.allReduce(this.gradients, 'sum', { compress: true });
      else overlap = this.overlap.finish();
    } catch (error) {
      this.overlap?.abandon();
      // A step that fails part-way (a peer lost) may have moved BN moving statistics in
      // the layers it got through, and each survivor got through a different number:
      // undo it, so that every survivor is exactly at its last applied step.
      this.replica.writeState(before);
      throw error;
    }
    const reduced = performance.now();
    this.keepSnapshot(step, before);
    // Clipping (in applyGradients) comes after the all-reduce: every rank clips the same global gradient.
    this.replica.applyGradients(this.gradients, globalCount, step);
    this.applied = step;
    const applied = performance.now();
    const trace = { rank: this.rank, step, backwardEnd: computed, reduced, ...(overlap === undefined ? {} : { overlap }) };
    if (this.stepTrace !== undefined) writeStepTrace(this.stepTrace, trace);
    const every = this.checkReplicasEvery;
    if (every > 0 && (step + 1) % every === 0) await this.checkReplicas(step);
    return {
      ...result,
      computeMs: computed - started - syncBnMs,
      syncBnMs,
      allReduceMs: reduced - computed,
      applyMs: applied - reduced,
      ...(overlap === undefined ? {} : { overlap }),
    };
  }

  private keepSnapshot(step: number, state: Float32Array): void {
    this.snapshots.set(step, state);
    for (const s of this.snapshots.keys()) if (s <= step - SNAPSHOTS_KEPT) this.snapshots.delete(s);
  }

  /** Rank 0's evaluation of the model on `test` (after sharing the moving statistics); undefined elsewhere. */
  async evaluate(test: Dataset | undefined): Promise<Evaluation | undefined> {
    const recalibrated = await this.settleBatchNormStatistics('epoch');
    return this.rank === 0 && test !== undefined ? { ...(await evaluateAsync(this.replica.model, test, this.replica.loss)), ...recalibrated } : undefined;
  }

  /**
   * The first half of joining a new ring: back to the state after step `rollbackTo` (-1:
   * before any step) if this rank went further; the steps after it were not finished by
   * every rank and will be redone. Local: no collective.
   */
  rollBack(rollbackTo: number): void {
    if (this.applied > rollbackTo) {
      const state = this.snapshots.get(rollbackTo + 1);
      if (state === undefined) {
        throw new TrainerError(
          'TRAINER_ERR_ROLLBACK',
          `rank ${this.rank} cannot roll back from step ${this.applied + 1} to step ${rollbackTo + 1}: ` +
            `it keeps the states of its last ${SNAPSHOTS_KEPT} steps only`,
        );
      }
      this.replica.writeState(state);
    }
    this.applied = rollbackTo;
    this.snapshots.clear();
  }

  /** The second half: the new ring's group and place (BN groups re-wired), then rank 0's state if `shareState` (a rank joins). */
  async joinRing(place: ReplicaPlace, shareState: boolean): Promise<void> {
    this.place = { communicator: place.communicator, rank: place.rank, worldSize: place.worldSize };
    // A rank that joins has no record of the last recalibration: all forget it, or they would not all recalibrate together.
    this.recalibratedAfter = undefined;
    this.bnGroup.replace(bnGroupOf(place.communicator, this.bnMode, place.rank, place.worldSize));
    refuseOnAsyncOnlyBackend(this.replica.model, this.bnGroup);
    this.gradients = gradientBuffer(place.communicator, this.replica.gradientSize);
    if (shareState) {
      const state = await this.replica.readStateAsync();
      place.communicator.broadcast(state, 0);
      this.replica.writeState(state);
    }
    // After the broadcast, as in `create`: a joining rank makes the same calls in the same order.
    this.overlap = this.agreeOnOverlap();
  }

  /** Every rank shares its moving statistics; rank 0 returns the model and the training state after `step`. */
  async checkpoint(step: number): Promise<{ model: ModelArtifactsBytes; state: Float32Array } | undefined> {
    // Outside `sync` the moving statistics are per rank; a checkpoint holds their mean,
    // or with precise BN the recalibrated ones.
    await this.settleBatchNormStatistics('checkpoint');
    if (this.applied !== step) {
      throw new TrainerError(
        'TRAINER_ERR_STEP_ORDER',
        `a checkpoint after step ${step + 1} was asked for, but rank ${this.rank} is after step ${this.applied + 1}`,
      );
    }
    if (this.rank !== 0) return undefined;
    return { model: await modelArtifacts(this.replica.model), state: await this.replica.readStateAsync() };
  }

  /** The end of the job: moving statistics shared, rank 0 evaluates and saves; the replica is disposed. */
  async finish(plan: FinishPlan): Promise<FinishedReplica> {
    const recalibrated = await this.settleBatchNormStatistics('end');
    const finished: FinishedReplica = {};
    if (this.rank === 0) {
      if (plan.test !== undefined) finished.evaluation = { ...(await evaluateAsync(this.replica.model, plan.test, this.replica.loss)), ...recalibrated };
      if (plan.saveTo !== undefined) finished.modelPath = await saveModel(this.replica.model, plan.saveTo);
      if (plan.returnModel) finished.model = await modelArtifacts(this.replica.model);
    }
    if (plan.returnWeights) {
      await settleReads(this.replica.model.weights.map((w) => w.read()));
      finished.weights = readAllWeights(this.replica.model);
    }
    this.replica.dispose();
    return finished;
  }

  /**
   * Precise BN: when the job asks for it at `point`, every rank recomputes the BN moving
   * statistics over the job's fixed recalibration samples, merged over all ranks whatever
   * the BN mode, so they end up equal everywhere. Every rank must call this together.
   * Returns the report rank 0 attaches to its evaluation.
   */
  private async recalibrateBatchNorm(point: RecalibrationPoint): Promise<{ bnRecalibration?: BnRecalibration }> {
    if (!recalibratesAt(this.config, point)) return {};
    const before = await this.replica.readStateAsync();
    let bnRecalibration: BnRecalibration;
    try {
      bnRecalibration = await recalibrateModelBatchNormAsync(this.replica.model, this.train, this.config, this.place.communicator);
    } catch (error) {
      // As with a failed step: a pass cut off by a lost peer wrote some layers here and
      // other layers elsewhere; every survivor goes back to its statistics before it.
      this.replica.writeState(before);
      throw error;
    }
    if (bnRecalibration.skipped === undefined) this.recalibratedAfter = this.applied;
    return { bnRecalibration };
  }

  /**
   * The BN statistics inference and saving use: shared over ranks, then recalibrated
   * where the job asks at `point`. Nothing to do when they were recalibrated after the
   * last step (the end of the last epoch, or a checkpoint at an evaluated step): they are
   * those of these weights already. Every rank decides alike: all recalibrate together.
   */
  private async settleBatchNormStatistics(point: RecalibrationPoint): Promise<{ bnRecalibration?: BnRecalibration }> {
    if (this.recalibratedAfter === this.applied) return {};
    await this.shareMovingStatistics();
    return this.recalibrateBatchNorm(point);
  }

  /**
   * Outside `sync`, replicas keep their own moving statistics; inference and the saved
   * model use their mean over all ranks. Every rank must call this together.
   */
  async shareMovingStatistics(): Promise<void> {
    if (this.bnMode.kind === 'sync' || this.worldSize === 1) return;
    for (const layer of syncBatchNormLayers(this.replica.model)) {
      const [movingMean, movingVariance] = layer.weights.slice(-2);
      if (movingMean === undefined || movingVariance === undefined) continue;
      await settleReads([movingMean.read(), movingVariance.read()]);
      const mean = movingMean.read().dataSync() as Float32Array;
      const buffer = new Float32Array(mean.length * 2);
      buffer.set(mean, 0);
      buffer.set(movingVariance.read().dataSync() as Float32Array, mean.length);
      this.place.communicator.allReduce(buffer, 'mean');
      tf.tidy(() => {
        movingMean.write(tf.tensor1d(buffer.subarray(0, mean.length)));
        movingVariance.write(tf.tensor1d(buffer.subarray(mean.length)));
      });
    }
  }

  /** Stops the job on every rank if any replica's weights differ from rank 0's. */
  async checkReplicas(step: number): Promise<void> {
    // Outside sync mode moving statistics differ by design: compare what training shares.
    await settleReads(this.bnMode.kind === 'sync' ? this.replica.model.weights.map((w) => w.read()) : this.replica.trainableVariables);
    const weights = this.bnMode.kind === 'sync' ? readAllWeights(this.replica.model) : readVariables(this.replica.trainableVariables);
    const communicator = this.place.communicator;
    const gathered = new Float32Array(2 * communicator.size);
    communicator.allGather(weightsChecksum(weights), gathered);
    const divergent = divergentRanks(gathered);
    if (divergent.length > 0) {
      throw new TrainerError('TRAINER_ERR_REPLICAS_DIVERGED', `after step ${step + 1} the weights of rank(s) ${divergent.join(', ')} differ from rank 0's`);
    }
  }
}

/** The group whose BN statistics this rank merges; every member makes the same split call, in the same order. */
export function bnGroupOf(communicator: ReplicaCommunicator, mode: BnMode, rank: number, worldSize: number): BatchNormGroup {
  if (mode.kind === 'local') return LOCAL_BATCH_NORM_GROUP;
  if (mode.kind === 'sync') return communicator;
  return communicator.split(bnGroupRanks(mode, rank, worldSize));
}
