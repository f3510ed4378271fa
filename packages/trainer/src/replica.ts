import * as tf from '@tensorflow/tfjs';
import { readsAsyncOnly } from '@tfjs-ddp/backend';
import { DEFAULT_LOSS, type LossName } from '@tfjs-ddp/protocol';
import type { HeapFloats } from '@tfjs-ddp/backend';
import { syncBatchNormLayers, withDropoutContext } from '@tfjs-ddp/nn';
import { DenseStep, type DenseStepResult } from './dense-step.js';
import { TrainerError } from './errors.js';
import { skipInputGradient } from './input-conv.js';
import { captureGradients, capturePlanOf, type CapturePlan, type GradientCapture } from './gradient-capture.js';
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
  /**
   * The fused paths on the wasm backend, where they apply: a plain dense stack's whole
   * forward and backward (dense-step.ts), and every optimizer's update as one C pass per
   * variable; on every backend, no gradient for the model's input (input-conv.ts). Default
   * true; false takes tfjs's ops always (the reference the tests compare with).
   */
  fused?: boolean;
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
  private readonly fused: boolean;
  /** The fused step, when the model is a plain dense stack (it runs on wasm only). */
  private readonly denseStep: DenseStep | undefined;
  /** Where the last computeGradients left its gradients on the wasm heap, when the fused step ran. */
  private fusedGradients: HeapFloats | undefined;
  /** trainStep's gradient buffer, reused. */
  private stepGradients: Float32Array | undefined;
  /** Where each trainable weight's gradient is captured during backward (gradient-capture.ts). */
  private readonly capturePlan: CapturePlan;

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
    this.capturePlan = capturePlanOf(model);
    this.trainableVariables = [...this.capturePlan.variables];
    this.gradientSize = totalSize(this.trainableVariables);
    this.optimizer = createOptimizer(options.optimizer, this.trainableVariables, this.rules.weightDecay);
    this.stateVariables = [...model.weights.map((w) => w.read() as tf.Variable), ...this.optimizer.state];
    this.stateSize = totalSize(this.stateVariables);
    this.fused = options.fused ?? true;
    this.denseStep = this.fused ? DenseStep.of(model, this.capturePlan, this.gradientSize, this.loss) : undefined;
    if (this.fused) skipInputGradient(model);
  }

  /** Whether steps of this replica's model can take the fused dense step (on wasm). */
  get fusedDenseStack(): boolean {
    return this.denseStep !== undefined;
  }

  /**
   * Forward and backward on one shard at `step`. Updates BN moving statistics as tfjs
   * does in training; writes the summed gradients into `out` (e.g. a shared buffer).
   * Reads back synchronously: on webgpu use `computeGradientsAsync`.
   */
  computeGradients(shard: Shard, step: number, out: Float32Array = new Float32Array(this.gradientSize)): ShardGradients {
    this.checkGradientBuffer(out);
    this.fusedGradients = undefined;
    if (shard.count === 0 && !this.joinsCollectives()) return emptyShard(out);
    const fused = this.fusedStep(shard, step, out);
    if (fused !== undefined) return fused;
    return this.readGradients(this.forwardBackward(shard, step), shard.count, step, out);
  }

  /** The fused dense step, when it can run here; undefined: take the tfjs path. */
  private fusedStep(shard: Shard, step: number, out: Float32Array): ShardGradients | undefined {
    const result = this.denseStep?.run(shard.x, shard.y, shard.count, out);
    if (result === undefined) return undefined;
    this.fusedGradients = this.denseStep?.heapGradients();
    return this.checkedResult(result, shard.count, step, out);
  }

  private checkedResult({ lossSum, correct }: DenseStepResult, count: number, step: number, out: Float32Array): ShardGradients {
    if (!Number.isFinite(lossSum)) {
      throw new TrainerError('TRAINER_ERR_NOT_FINITE', `loss became ${lossSum} at step ${step}; lower the learning rate`);
    }
    return { lossSum, correct, count, grads: out };
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
    this.fusedGradients = undefined;
    const captured = new Uint8Array(this.trainableVariables.length);
    if (shard.count === 0 && !this.joinsCollectives()) return emptyShard(out);
    // The fused step runs on wasm only, whose reads are synchronous; it delivers every
    // gradient at its end, so nothing is captured (the caller starts every bucket then).
    const fused = this.fusedStep(shard, step, out);
    if (fused !== undefined) return fused;
    const pending =
      capture !== undefined && this.capturesGradients()
        ? captureGradients(this.capturePlan, { out, count: shard.count, captured, capture }, () => this.forwardBackward(shard, step))
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
    return !readsAsyncOnly(tf.getBackend()) && this.capturePlan.distinct;
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
        const offset = this.capturePlan.offsets[i] as number;
        const grad = pending.grads[variable.name];
        // An empty shard's gradient is zero by definition; its forward and backward ran only
        // to take part in the collectives (and wasm's matMul leaves garbage on empty batches).
        if (grad === undefined || count === 0) out.fill(0, offset, offset + variable.size);
        else out.set(grad.dataSync() as Float32Array, offset);
      });
    } finally {
      tf.dispose(pendingTensors(pending));
    }
    // Not emptyShard(out): the captured ranges may be in an all-reduce already (and are zeros).
    if (count === 0) return { lossSum: 0, correct: 0, count: 0, grads: out };
    return this.checkedResult({ lossSum, correct }, count, step, out);
  }

  /**
   * Applies gradients summed over all ranks' shards of one global batch of `globalCount`
   * samples, as global step `step` (the learning rate's schedule is a function of it):
   * averaged, clipped to the rules' global norm, then the optimizer's update.
   */
  applyGradients(summed: Float32Array, globalCount: number, step?: number): void {
    this.applySummed(summed, undefined, globalCount, step);
  }

  /** `applyGradients`; `onHeap`: the same values already on the wasm heap (the fused step's), so the fused update reads them there. */
  private applySummed(summed: Float32Array, onHeap: HeapFloats | undefined, globalCount: number, step?: number): void {
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
    if (this.fused && this.optimizer.applySummed(onHeap ?? summed, globalCount, scale, learningRate)) return;
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

  /**
   * Both halves on one shard that is the whole global batch: plain single-replica training.
   * The result's `grads` is this replica's own buffer, overwritten by the next trainStep
   * (a new buffer of the model's size per step cost a small model's step 3% in allocation and GC).
   */
  trainStep(shard: Shard, step: number): ShardGradients {
    this.stepGradients ??= new Float32Array(this.gradientSize);
    const result = this.computeGradients(shard, step, this.stepGradients);
    // Nothing ran between the two: the fused step's gradients on the heap are still `result.grads`.
    this.applySummed(result.grads, this.fusedGradients, result.count, step);
    return result;
  }

  dispose(): void {
    this.denseStep?.dispose();
    this.optimizer.dispose();
  }
}
