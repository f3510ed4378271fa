import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo } from '@tfjs-ddp/backend';
import type { ThreadCommunicator } from '@tfjs-ddp/collective';
import { ArrayDataset, openSharedDataset, type Dataset } from '@tfjs-ddp/data';
import { bnGroupRanks, convertToSyncBN, LOCAL_BATCH_NORM_GROUP, parseBnMode, syncBatchNormLayers, type BnMode } from '@tfjs-ddp/nn';
import { buildModel, evaluate, modelArtifacts, readAllWeights, Replica, saveModel, writeAllWeights } from '@tfjs-ddp/trainer';
import { WorkerError } from './errors.js';
import type { EvaluateOrder, Evaluated, Finished, FinishOrder, RankInit, StepDone, StepOrder } from './rank-messages.js';
import { TimedBatchNormGroup } from './timed-group.js';
import { divergentRanks, weightsChecksum } from './weights-checksum.js';

/**
 * One rank's replica and its part of every step: compute summed gradients on its shard
 * (SyncBN layers block in their collectives meanwhile), all-reduce them over every
 * rank, apply the same update as every other rank. Synchronous except at start and
 * finish, so a rank thread runs orders one after another.
 */
export class RankRunner {
  private readonly gradients: Float32Array;
  private lastOrderDoneAt = performance.now();

  private constructor(
    readonly rank: number,
    readonly backend: BackendInfo,
    private readonly init: RankInit,
    private readonly communicator: ThreadCommunicator,
    private readonly bnMode: BnMode,
    private readonly bnGroup: TimedBatchNormGroup,
    private readonly replica: Replica,
    private readonly train: Dataset | undefined,
    private readonly test: Dataset | undefined,
  ) {
    this.gradients = gradientBuffer(communicator, replica.gradientSize);
  }

  static async create(init: RankInit, communicator: ThreadCommunicator): Promise<RankRunner> {
    const backend = await initBackend(init.backend);
    const train = init.train === undefined ? undefined : openSharedDataset(init.train);
    const test = init.test === undefined ? undefined : openSharedDataset(init.test);
    const bnMode = parseBnMode(init.bnMode);
    // Every member of a BN group must make the same split call, in the same order.
    const group = bnMode.kind === 'local' ? LOCAL_BATCH_NORM_GROUP : bnMode.kind === 'sync' ? communicator : communicator.split(bnGroupRanks(bnMode, init.rank, init.worldSize));
    const bnGroup = new TimedBatchNormGroup(group);
    // Building a model needs only the shape of a sample and the classes.
    const shapeOnly = new ArrayDataset({ name: 'shape', x: new Float32Array(0), y: new Int32Array(0), inputShape: init.inputShape, numClasses: init.numClasses });
    const model = await convertToSyncBN(await buildModel(init.config, { train: shapeOnly, test: shapeOnly }), bnGroup);
    // Rank 0's weights for everyone: identical replicas even for unseeded user models.
    const weights = readAllWeights(model);
    communicator.broadcast(weights, 0);
    writeAllWeights(model, weights);
    const replica = new Replica({ model, optimizer: init.config.optimizer, runSeed: init.config.seed });
    return new RankRunner(init.rank, backend, init, communicator, bnMode, bnGroup, replica, train, test);
  }

  get parameters(): number {
    return this.replica.gradientSize;
  }

  step(order: StepOrder): StepDone {
    const started = performance.now();
    const waitMs = started - this.lastOrderDoneAt;
    const shard = this.shard(order);
    const result = this.replica.computeGradients(shard, order.step, this.gradients);
    const computed = performance.now();
    const syncBnMs = this.bnGroup.take();
    this.communicator.allReduce(this.gradients, 'sum');
    const reduced = performance.now();
    this.replica.applyGradients(this.gradients, order.globalCount);
    const applied = performance.now();
    const every = this.init.checkReplicasEvery;
    if (every > 0 && (order.step + 1) % every === 0) this.checkReplicas(order.step);
    this.lastOrderDoneAt = performance.now();
    return {
      kind: 'stepDone',
      step: order.step,
      report: {
        rank: this.rank,
        lossSum: result.lossSum,
        correct: result.correct,
        count: result.count,
        computeMs: computed - started - syncBnMs,
        syncBnMs,
        allReduceMs: reduced - computed,
        applyMs: applied - reduced,
        waitMs,
      },
    };
  }

  private shard(order: StepOrder): { x: Float32Array; y: Int32Array; count: number; indices: Int32Array } {
    if (order.x !== undefined && order.y !== undefined) return { x: order.x, y: order.y, count: order.indices.length, indices: order.indices };
    if (this.train === undefined) throw new WorkerError('WORKER_ERR_BAD_OPTION', `step ${order.step} came without samples and this rank holds no training set`);
    return { ...this.train.batch(order.indices), indices: order.indices };
  }

  evaluate(order: EvaluateOrder): Evaluated {
    this.shareMovingStatistics();
    const evaluation = this.rank === 0 && this.test !== undefined ? evaluate(this.replica.model, this.test) : undefined;
    this.lastOrderDoneAt = performance.now();
    return { kind: 'evaluated', rank: this.rank, epoch: order.epoch, evaluation };
  }

  async finish(order: FinishOrder): Promise<Finished> {
    this.shareMovingStatistics();
    const finished: Finished = { kind: 'finished', rank: this.rank };
    if (this.rank === 0) {
      if (this.test !== undefined) finished.evaluation = evaluate(this.replica.model, this.test);
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
    if (this.bnMode.kind === 'sync' || this.init.worldSize === 1) return;
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
