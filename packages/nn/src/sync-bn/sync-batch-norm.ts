import * as tf from '@tensorflow/tfjs';
import { LOCAL_BATCH_NORM_GROUP, type BatchNormGroup } from './batch-norm-group.js';
import { batchNormBackward, channelMoments, readsAsyncOnly, type BatchNormChannelSums } from '@tfjs-ddp/backend';
import { NnError } from '../errors.js';
import { mergeMoments, momentsLength, shardMoments } from './moments.js';

/** The fields of tfjs-layers' BatchNormalization that this layer reads (all set by its constructor and build). */
interface BatchNormalizationFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma?: tf.LayerVariable;
  beta?: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/** The constructor arguments of tfjs's `tf.layers.batchNormalization`, which this layer takes unchanged. */
export type SyncBatchNormalizationLayerArgs = Parameters<typeof tf.layers.batchNormalization>[0];

type BatchNormalizationClass = new (args?: SyncBatchNormalizationLayerArgs) => tf.layers.Layer & BatchNormalizationFields;

/**
 * tfjs-layers does not export its BatchNormalization class, only a factory; its
 * serialization registry holds the class itself. Extending it keeps tfjs's own args,
 * defaults (momentum 0.99, epsilon 1e-3), weights and their order, build and getConfig,
 * so BN <-> SyncBN conversion is a change of class name.
 */
function tfjsBatchNormalization(): BatchNormalizationClass {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap['BatchNormalization'];
  if (entry === undefined) throw new NnError('NN_ERR_CONVERSION', 'tfjs-layers has not registered BatchNormalization');
  return entry[0] as unknown as BatchNormalizationClass;
}

/**
 * Batch normalization over the shards of a group of replicas: in training, every member
 * normalizes with the mean and variance of the group's whole batch (moments all-gathered
 * and merged with Chan's formula), its gradient all-reduces per-channel sum(dy) and
 * sum(dy * xhat), and the moving statistics are updated from the global statistics in
 * tfjs's convention, so all members keep identical moving statistics, equal to those of
 * one model trained on the whole batch. Inference is tfjs's. The group is injected with
 * `setGroup`; without one (or in a group of one) it is plain BN with a Tile-free backward.
 */
export class SyncBatchNormalization extends tfjsBatchNormalization() {
  static className = 'SyncBatchNormalization';
  private group: BatchNormGroup = LOCAL_BATCH_NORM_GROUP;

  constructor(args?: SyncBatchNormalizationLayerArgs) {
    super(args);
  }

  /** The group whose statistics this layer merges; every member must call it in step. */
  setGroup(group: BatchNormGroup): void {
    this.group = group;
  }

  getGroup(): BatchNormGroup {
    return this.group;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor | tf.Tensor[] {
    if (!kwargs.training) return super.call(inputs, kwargs);
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (x === undefined) throw new NnError('NN_ERR_BAD_INPUT', `${this.name}: expected one input`);
    const rank = x.shape.length;
    const axis = this.axis >= 0 ? this.axis : this.axis + rank;
    if (axis !== rank - 1) {
      throw new NnError('NN_ERR_BAD_INPUT', `${this.name}: SyncBatchNormalization supports only the last axis (channels last), got axis ${this.axis}`);
    }
    return tf.tidy(() => this.normalizeInTraining(x, rank));
  }

  private normalizeInTraining(x: tf.Tensor, rank: number): tf.Tensor {
    const channels = x.shape[rank - 1] as number;
    const group = this.group;
    const epsilon = this.epsilon;
    const gamma = this.gamma?.read() ?? tf.ones([channels]);
    const beta = this.beta?.read() ?? tf.zeros([channels]);
    // A backend that reads back only asynchronously (webgpu in Node) cannot take part in a
    // collective mid-forward; in a group of one there is nothing to exchange, so the
    // statistics stay on the device. Other backends keep the float64 merge below, bit for bit.
    const onDevice = group.size === 1 && readsAsyncOnly(tf.getBackend());
    const { mean, variance, count } = onDevice ? deviceMoments(x, channels) : this.groupMoments(x, channels);
    if (count > 0) {
      this.updateMovingAverage(this.movingMean, mean);
      this.updateMovingAverage(this.movingVariance, variance);
    }
    const reduceSums = (local: BatchNormChannelSums): BatchNormChannelSums => {
      if (onDevice) return local;
      // One all-reduce for both sums: it sits on the critical path of every BN layer.
      const sums = new Float32Array(2 * channels);
      sums.set(local.sumDy.dataSync() as Float32Array, 0);
      sums.set(local.sumDyXmu.dataSync() as Float32Array, channels);
      group.allReduce(sums, 'sum');
      return { sumDy: tf.tensor1d(sums.subarray(0, channels)), sumDyXmu: tf.tensor1d(sums.subarray(channels)) };
    };

    const normalize = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [input, g, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
      const invStd = tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor1D;
      // The backward pass runs after call()'s tidy has ended: what it needs must be saved.
      save([input, mean, invStd, g]);
      return {
        value: tf.batchNorm(input, mean, variance, b, g, epsilon),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [savedX, savedMean, savedInvStd, savedGamma] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
          return batchNormBackward(dy, savedX, savedMean, savedInvStd, savedGamma, count, reduceSums);
        },
      };
    });
    return normalize(x, gamma, beta);
  }

  /** The whole group's mean and biased variance: every member's moments gathered and merged exactly. */
  private groupMoments(x: tf.Tensor, channels: number): { mean: tf.Tensor1D; variance: tf.Tensor1D; count: number } {
    const group = this.group;
    const gathered = new Float32Array(group.size * momentsLength(channels));
    group.allGather(shardMoments(x), gathered);
    const merged = mergeMoments(gathered, group.size, channels);
    return { mean: tf.tensor1d(merged.mean), variance: tf.tensor1d(merged.variance), count: merged.count };
  }

  /** tfjs's update, to the bit: moving -= (moving - value) * (1 - momentum). */
  private updateMovingAverage(variable: tf.LayerVariable, value: tf.Tensor): void {
    tf.tidy(() => {
      const original = variable.read();
      variable.write(tf.sub(original, tf.mul(tf.sub(original, value), 1 - this.momentum)));
    });
  }
}
/**
 * One shard's mean and biased variance computed where x lives (float32, no read-back).
 * An empty shard gives zeros, as `shardMoments` does.
 */
function deviceMoments(x: tf.Tensor, channels: number): { mean: tf.Tensor1D; variance: tf.Tensor1D; count: number } {
  const count = x.size / channels;
  if (count === 0) return { mean: tf.zeros([channels]), variance: tf.zeros([channels]), count };
  const { mean, m2 } = channelMoments(x);
  return { mean, variance: tf.div(m2, count), count };
}

// The base class is typed structurally here; its static fromConfig comes from tfjs's Layer.
tf.serialization.registerClass(SyncBatchNormalization as unknown as tf.serialization.SerializableConstructor<tf.layers.Layer>);
