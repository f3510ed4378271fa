import * as tf from '@tensorflow/tfjs';
import { readsAsyncOnly } from '@tfjs-ddp/backend';
import { DEFAULT_LOSS, type LossName } from '@tfjs-ddp/protocol';
import { syncBatchNormLayers, withDropoutContext } from '@tfjs-ddp/nn';
import { TrainerError } from './errors.js';
import { readVariables, totalSize, writeVariables } from './flat-weights.js';
import { checkOutputFitsLoss, lossTarget, perSampleLoss, predictedClasses } from './losses.js';
import { createOptimizer, type OptimizerSpec, type TrainingOptimizer } from './optimizers.js';
import { settleReads } from './read-back.js';
import { clipScale, rateAt, type TrainingRules } from './training-rules.js';

/** The samples one rank computes in one step. */
export interface Shard {
  /** [count, ...inputShape], flattened. */
  x: Float32Array;
  /** Class of each sample. */
  y: Int32Array;
  count: number;
  /** Global data-set index of each sample: dropout masks depend on it. */
  indices: Int32Array;
}

/** A step's results still on the backend: summed loss, correct count, gradients by variable name. */
interface PendingGradients {
  value: tf.Scalar;
  correct: tf.Scalar;
  grads: tf.NamedTensorMap;
}

function pendingTensors(pending: PendingGradients): tf.Tensor[] {
  return [pending.value, pending.correct, ...Object.values(pending.grads)];
}

function emptyShard(out: Float32Array): ShardGradients {
  out.fill(0);
  return { lossSum: 0, correct: 0, count: 0, grads: out };
}

/**
 * Receives each trainable variable's gradient as soon as backward has finished it (see
 * `Replica.computeGradientsAsync`): an all-reduce of it may start while backward goes on.
 */
export interface GradientCapture {
  /**
   * Variable `index` (of `Replica.trainableVariables`) has its final gradient in its place
   * in the gradient buffer. Called during backward, in the order backward finishes them;
   * from then on the step writes that range no more.
   */
  ready(index: number): void;
}

/** One rank's contribution to a step, before any all-reduce. */
export interface ShardGradients {
  /** Sum over the shard of the per-sample loss (not the mean). */
  lossSum: number;
  /** Samples of the shard the model classified correctly (before the update). */
  correct: number;
  count: number;
  /** d(lossSum)/dw for every trainable weight, flattened in `Replica.trainableVariables` order. */
  grads: Float32Array;
}

export interface ReplicaOptions {
  model: tf.LayersModel;
  optimizer: OptimizerSpec;
  /** Seed of the run: dropout masks derive from it, the step and the sample index. */
  runSeed: number;
  /** Learning-rate schedule, weight decay and clipping (`trainingRulesOf(config)`); default: none of them. */
  rules?: TrainingRules;
  /** The job's loss; default: DEFAULT_LOSS (categorical cross-entropy). The model's last layer must fit it. */
  loss?: LossName | undefined;
  /** Classes of the data set; default: the model's output units (1 sigmoid unit: 2). */
  numClasses?: number;
}

/**
 * One model replica. A training step comes in two halves so that an all-reduce can sit
 * between them: `computeGradients` (summed, not averaged, over the shard, so that summing
 * across ranks and dividing by the global count is exact for unequal shards) and
 * `applyGradients` (every rank applies the same summed gradients).
 */
export class Replica {
  readonly model: tf.LayersModel;
  readonly optimizer: TrainingOptimizer;
  readonly runSeed: number;
  readonly rules: TrainingRules;
  readonly inputShape: number[];
  readonly numClasses: number;
  readonly loss: LossName;
  /** Trainable variables in the fixed order of the gradient buffer. */
  readonly trainableVariables: tf.Variable[];
  readonly gradientSize: number;
  /**
   * Everything training changes, in a fixed order: every model weight (BN moving
   * statistics included), then the optimizer's state. Two replicas with equal state
   * train on identically.
   */
  readonly stateVariables: readonly tf.Variable[];
  readonly stateSize: number;
  /** The layers' handles of `trainableVariables` (same order): their reads are where gradients are captured. */
  private readonly trainableWeights: readonly tf.LayerVariable[];
  /** Start of each trainable variable in the gradient buffer. */
  private readonly offsets: readonly number[];

  constructor(options: ReplicaOptions) {
    const { model } = options;
    this.model = model;
    this.runSeed = options.runSeed;
    this.rules = options.rules ?? { weightDecay: 0 };
    const input = model.inputs[0];
    const output = model.outputs[0];
    if (model.inputs.length !== 1 || model.outputs.length !== 1 || input === undefined || output === undefined) {
      throw new TrainerError('TRAINER_ERR_MODEL_SHAPE', `model "${model.name}" must have one input and one output`);
    }
    this.inputShape = input.shape.slice(1).map((d) => {
      if (d === null) throw new TrainerError('TRAINER_ERR_MODEL_SHAPE', `model "${model.name}" has an unknown input dimension`);
      return d;
    });
    const classes = output.shape[output.shape.length - 1];
    if (output.shape.length !== 2 || classes === null || classes === undefined) {
      throw new TrainerError('TRAINER_ERR_MODEL_SHAPE', `model "${model.name}" must output [batch, units]`);
    }
    this.loss = options.loss ?? DEFAULT_LOSS;
    this.numClasses = options.numClasses ?? (this.loss === 'binary-crossentropy' && classes === 1 ? 2 : classes);
    checkOutputFitsLoss(model, this.loss, this.numClasses);
    this.trainableWeights = model.trainableWeights;
    this.trainableVariables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.gradientSize = totalSize(this.trainableVariables);
    let offset = 0;
    this.offsets = this.trainableVariables.map((v) => (offset += v.size) - v.size);
    this.optimizer = createOptimizer(options.optimizer, this.trainableVariables, this.rules.weightDecay);
    this.stateVariables = [...model.weights.map((w) => w.read() as tf.Variable), ...this.optimizer.state];
    this.stateSize = totalSize(this.stateVariables);
  }

  /**
   * Forward and backward on one shard at `step`. Updates BN moving statistics as tfjs
   * does in training; writes the summed gradients into `out` (e.g. a shared buffer).
   * Reads back synchronously: on webgpu use `computeGradientsAsync`.
   */
  computeGradients(shard: Shard, step: number, out: Float32Array = new Float32Array(this.gradientSize)): ShardGradients {
    this.checkGradientBuffer(out);
    if (shard.count === 0 && !this.joinsCollectives()) return emptyShard(out);
    return this.readGradients(this.forwardBackward(shard, step), shard.count, step, out);
  }

  /**
   * `computeGradients` for every backend: the results are read back asynchronously
   * (`settleReads`) before the same synchronous read, so webgpu in Node can train too.
   *
   * With `capture` (where `capturesGradients`), each variable's gradient is written into
   * `out` during backward, as soon as it is final, and `capture.ready` is told; the
   * variables backward does not deliver (unused, or read where backward does not reach)
   * are written after it, as without capture. An empty shard's are zeros either way.
   */
  async computeGradientsAsync(
    shard: Shard,
    step: number,
    out: Float32Array = new Float32Array(this.gradientSize),
    capture?: GradientCapture,
  ): Promise<ShardGradients> {
    this.checkGradientBuffer(out);
    const captured = new Uint8Array(this.trainableVariables.length);
    if (shard.count === 0 && !this.joinsCollectives()) return emptyShard(out);
    const pending =
      capture !== undefined && this.capturesGradients()
        ? this.withCapture(out, shard.count, captured, capture, () => this.forwardBackward(shard, step))
        : this.forwardBackward(shard, step);
    try {
      await settleReads(pendingTensors(pending));
    } catch (error) {
      tf.dispose(pendingTensors(pending));
      throw error;
    }
    return this.readGradients(pending, shard.count, step, out, captured);
  }

  /**
   * Whether `computeGradientsAsync` can deliver gradients during backward: the backend
   * reads synchronously (backward cannot await), and every trainable weight is a distinct
   * variable. The same on every rank of a job of one backend.
   */
  capturesGradients(): boolean {
    return !readsAsyncOnly(tf.getBackend()) && new Set(this.trainableVariables).size === this.trainableVariables.length;
  }

  /**
   * Runs `body` (forward and backward) with every trainable weight's read — layers read
   * their weights through `LayerVariable.read()` in `call()` — wrapped in an identity
   * whose gradient is exactly that read's share of the weight's gradient. When the last
   * read's share has arrived (a weight read twice, a shared layer, gets two), the sum is
   * the gradient: it goes into `out` and `capture` is told.
   */
  private withCapture<T>(out: Float32Array, count: number, captured: Uint8Array, capture: GradientCapture, body: () => T): T {
    const reads = new Int32Array(this.trainableWeights.length);
    const shares = new Int32Array(this.trainableWeights.length);
    this.trainableWeights.forEach((weight, i) => {
      const read = weight.read.bind(weight);
      const offset = this.offsets[i] as number;
      const size = (this.trainableVariables[i] as tf.Variable).size;
      const receive = (dy: tf.Tensor): void => {
        const values = dy.dataSync() as Float32Array;
        if (shares[i] === 0) out.set(values, offset);
        else for (let j = 0; j < size; j++) out[offset + j] = (out[offset + j] as number) + (values[j] as number);
        shares[i] = (shares[i] as number) + 1;
        if (shares[i] !== reads[i]) return;
        // An empty shard's gradient is zero by definition (wasm's matMul leaves garbage on empty batches).
        if (count === 0) out.fill(0, offset, offset + size);
        captured[i] = 1;
        capture.ready(i);
      };
      const identity = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
        value: tf.clone(args[0] as tf.Tensor),
        gradFunc: (dy: tf.Tensor) => {
          receive(dy);
          return dy;
        },
      }));
      weight.read = (): tf.Tensor => {
        reads[i] = (reads[i] as number) + 1;
        return identity(read());
      };
    });
    try {
      return body();
    } finally {
      // The layers' own read again (the prototype's).
      for (const weight of this.trainableWeights) delete (weight as { read?: unknown }).read;
    }
  }

  private checkGradientBuffer(out: Float32Array): void {
    if (out.length !== this.gradientSize) {
      throw new TrainerError(
        'TRAINER_ERR_GRADIENT_SIZE',
        `gradient buffer holds ${out.length} values, the model needs ${this.gradientSize}`,
      );
    }
  }

  /** The step's tensors, kept (the caller disposes them): summed loss, correct count, gradients by variable name. */
  private forwardBackward(shard: Shard, step: number): PendingGradients {
    const { count } = shard;
    return tf.tidy(() => {
      const x = tf.tensor(shard.x, [count, ...this.inputShape], 'float32');
      const labels = tf.tensor1d(shard.y, 'int32');
      const target = lossTarget(this.loss, labels, this.numClasses);
      let predictions: tf.Tensor | undefined;
      const context = { runSeed: this.runSeed, step, sampleIndices: shard.indices };
      const { value, grads } = tf.variableGrads(() => {
        const output = withDropoutContext(context, () => this.model.apply(x, { training: true }) as tf.Tensor);
        predictions = tf.keep(output);
        let loss = tf.sum(perSampleLoss(this.loss, target, output));
        // Regularizers are per batch: count copies summed over ranks make one per global batch.
        const regularization = this.model.calculateLosses();
        if (regularization.length > 0) loss = tf.add(loss, tf.mul(tf.addN(regularization), count));
        return loss as tf.Scalar;
      }, this.trainableVariables);
      const correct = predictions === undefined ? tf.scalar(0, 'int32') : tf.sum(tf.cast(tf.equal(predictedClasses(this.loss, predictions), labels), 'int32'));
      predictions?.dispose();
      return { value, correct: correct as tf.Scalar, grads };
    });
  }

  /**
   * Reads `pending` (synchronously) into `out` and disposes it; the variables marked in
   * `captured` are in `out` already (and may be in an all-reduce: not touched).
   */
  private readGradients(pending: PendingGradients, count: number, step: number, out: Float32Array, captured?: Uint8Array): ShardGradients {
    let lossSum: number;
    let correct: number;
    try {
      lossSum = pending.value.dataSync()[0] as number;
      correct = pending.correct.dataSync()[0] as number;
      this.trainableVariables.forEach((variable, i) => {
        if (captured?.[i] === 1) return;
        const offset = this.offsets[i] as number;
        const grad = pending.grads[variable.name];
        // An empty shard's gradient is zero by definition; its forward and backward ran only
        // to take part in the collectives (and wasm's matMul leaves garbage on empty batches).
        if (grad === undefined || count === 0) out.fill(0, offset, offset + variable.size);
        else out.set(grad.dataSync() as Float32Array, offset);
      });
    } finally {
      tf.dispose(pendingTensors(pending));
    }
    if (count === 0) return { lossSum: 0, correct: 0, count: 0, grads: out };
    if (!Number.isFinite(lossSum)) {
      throw new TrainerError('TRAINER_ERR_NOT_FINITE', `loss became ${lossSum} at step ${step}; lower the learning rate`);
    }
    return { lossSum, correct, count, grads: out };
  }

  /**
   * Applies gradients summed over all ranks' shards of one global batch of `globalCount`
   * samples, as global step `step` (the learning rate's schedule is a function of it):
   * averaged, clipped to the rules' global norm, then the optimizer's update.
   */
  applyGradients(summed: Float32Array, globalCount: number, step?: number): void {
    if (summed.length !== this.gradientSize) {
      throw new TrainerError(
        'TRAINER_ERR_GRADIENT_SIZE',
        `gradient buffer holds ${summed.length} values, the model needs ${this.gradientSize}`,
      );
    }
    if (globalCount <= 0) return;
    const schedule = this.rules.lrSchedule;
    if (step === undefined && schedule !== undefined && (schedule.kind !== 'constant' || schedule.warmupSteps > 0)) {
      throw new TrainerError('TRAINER_ERR_STEP_ORDER', 'a learning-rate schedule needs the global step of every update');
    }
    const learningRate = rateAt(this.rules, step ?? 0);
    const { clipNorm } = this.rules;
    const scale = clipNorm === undefined ? 1 : clipScale(summed, globalCount, clipNorm);
    tf.tidy(() => {
      let offset = 0;
      const gradients = this.trainableVariables.map((variable) => {
        const sum = tf.tensor(summed.subarray(offset, offset + variable.size), variable.shape, 'float32');
        offset += variable.size;
        const mean = tf.div(sum, globalCount);
        return scale < 1 ? tf.mul(mean, scale) : mean;
      });
      this.optimizer.apply(gradients, learningRate);
    });
  }

  /**
   * Whether a forward pass takes part in collectives (SyncBN over more than one rank):
   * then a rank with an empty shard must still run it, or the others wait forever.
   */
  joinsCollectives(): boolean {
    return syncBatchNormLayers(this.model).some((layer) => layer.getGroup().size > 1);
  }

  /** The whole training state (see `stateVariables`) in one buffer. */
  readState(out?: Float32Array): Float32Array {
    return readVariables(this.stateVariables, out, 'state');
  }

  /** `readState` on every backend (see `settleReads`). */
  async readStateAsync(out?: Float32Array): Promise<Float32Array> {
    await settleReads(this.stateVariables);
    return this.readState(out);
  }

  /** Sets the whole training state from a buffer made by `readState` (here or on another replica). */
  writeState(state: Float32Array): void {
    writeVariables(this.stateVariables, state, 'state');
  }

  /** Both halves on one shard that is the whole global batch: plain single-replica training. */
  trainStep(shard: Shard, step: number): ShardGradients {
    const result = this.computeGradients(shard, step);
    this.applyGradients(result.grads, result.count, step);
    return result;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
