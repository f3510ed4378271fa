import * as tf from '@tensorflow/tfjs';
import { NnError } from '../errors.js';
import { mergeMoments, momentsLength, shardMoments, shardMomentsAsync } from './moments.js';
import { SyncBatchNormalization } from './sync-batch-norm.js';

/**
 * Precise BN: the population mean and variance of every batch-norm layer's input,
 * recomputed over a fixed set of samples with the weights frozen, written into the
 * layer's moving statistics.
 *
 * Statistics are taken layer by layer in model order, with every upstream layer in
 * inference mode and the upstream BN layers already recalibrated: each layer gets the
 * mean and biased variance of exactly the input it sees at test time. (fvcore's precise
 * BN and torch's `update_bn` instead run training-mode forwards, so their statistics are
 * of inputs normalized with batch statistics upstream, which test time never sees.) The
 * inference-mode forward touches no dropout mask, optimizer state or gradient.
 *
 * The sample set comes as numbered chunks, the same for any number of ranks. Rank r
 * computes the chunks c with c % size === r; the packed moments of every chunk are summed
 * over the ranks into one buffer (each chunk's slot is written by one rank and zero
 * elsewhere, and x + 0 is exact), and every rank merges the chunks in chunk order with
 * Chan's formula (as SyncBN does). So the result is bit-identical on every rank and for
 * every number of ranks and partition of the chunks.
 */

/** The collective of the ranks that recalibrate together (a `BatchNormGroup` or a `Communicator` is one). */
export interface RecalibrationGroup {
  readonly size: number;
  readonly rank: number;
  /** Element-wise sum over the members, in place. */
  allReduce(buffer: Float32Array, op?: 'sum'): void;
}

/** The recalibration samples, cut into numbered chunks (the same chunks on every rank). */
export interface RecalibrationChunks {
  /** Chunks in the whole set, over all ranks. */
  readonly count: number;
  /** The model input of chunk `index`, [n, ...inputShape]; asked for only for this rank's chunks. The caller disposes it. */
  input(index: number): tf.Tensor;
}


/** The fields of a tfjs BatchNormalization (or SyncBatchNormalization) layer read here. */
interface BatchNormFields {
  axis: number;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/** One BN layer and how to compute its input from the model's input (inference mode). */
interface ProbedLayer {
  layer: tf.layers.Layer & BatchNormFields;
  probe: (x: tf.Tensor) => tf.Tensor;
}

function isBatchNorm(layer: tf.layers.Layer): layer is tf.layers.Layer & BatchNormFields {
  return layer instanceof SyncBatchNormalization || layer.getClassName() === 'BatchNormalization';
}

/**
 * Every BN layer of `model` (nested models included) in model order, each with a
 * function from the model's input to the layer's input that runs the layers between them
 * in inference mode. The sub-models share the model's layers (and so its weights and the
 * statistics recalibrated so far); they are never disposed, which would dispose those.
 */
function probedBatchNormLayers(model: tf.LayersModel, outer: (x: tf.Tensor) => tf.Tensor = (x) => x): ProbedLayer[] {
  const found: ProbedLayer[] = [];
  const input = model.inputs[0];
  if (model.inputs.length !== 1 || input === undefined) {
    throw new NnError('NN_ERR_RECALIBRATION', `batch-norm recalibration needs a model with one input; "${model.name}" has ${model.inputs.length}`);
  }
  const prefix = (layer: tf.layers.Layer): ((x: tf.Tensor) => tf.Tensor) => {
    const layerInput = inputIn(model, layer);
    if (layerInput === input) return outer;
    const upstream = tf.model({ inputs: input, outputs: layerInput });
    return (x) => upstream.apply(outer(x), { training: false }) as tf.Tensor;
  };
  for (const layer of model.layers) {
    if (layer instanceof tf.LayersModel) found.push(...probedBatchNormLayers(layer, prefix(layer)));
    else if (isBatchNorm(layer)) found.push({ layer, probe: prefix(layer) });
  }
  return found;
}

/**
 * The input of `layer` in `model`'s graph. A nested model built with its own input shape
 * has a node of its own besides the one in the outer model: tfjs's (internal) set of a
 * container's nodes tells which is the model's (a Sequential model keeps none: then every node counts).
 */
function inputIn(model: tf.LayersModel, layer: tf.layers.Layer): tf.SymbolicTensor {
  const graph = (model as unknown as { model?: unknown }).model ?? model;
  const nodes = (graph as { containerNodes?: Set<string> }).containerNodes;
  const indices = layer.inboundNodes.map((_, i) => i).filter((i) => nodes === undefined || nodes.size === 0 || nodes.has(`${layer.name}_ib-${i}`));
  const layerInput = indices.length === 1 ? layer.getInputAt(indices[0] as number) : undefined;
  if (layerInput === undefined || Array.isArray(layerInput)) {
    throw new NnError(
      'NN_ERR_RECALIBRATION',
      `batch-norm recalibration cannot follow layer "${layer.name}" of "${model.name}": it is applied more than once or to several inputs`,
    );
  }
  return layerInput;
}

/**
 * Recomputes the moving mean and variance of every BN layer of `model` over `chunks`
 * (see the top of this file). Every member of `group` must call it together, with the
 * same chunks and identical weights; it makes one all-reduce per BN layer. Returns how
 * many BN layers it recalibrated. Reads back synchronously: on webgpu use the async one.
 */
export function recalibrateBatchNorm(model: tf.LayersModel, chunks: RecalibrationChunks, group: RecalibrationGroup): number {
  const pass = startPass(model, chunks, group);
  if (pass === undefined) return probedBatchNormLayers(model).length;
  try {
    for (const probed of pass.layers) {
      const channels = channelsOf(probed.layer);
      const stride = momentsLength(channels);
      const all = new Float32Array(chunks.count * stride);
      pass.mine.forEach((c, i) => all.set(tf.tidy(() => shardMoments(layerInput(probed, pass.inputs[i] as tf.Tensor))), c * stride));
      mergeInto(probed.layer, all, chunks.count, channels, group);
    }
  } finally {
    tf.dispose(pass.inputs);
  }
  return pass.layers.length;
}

/**
 * `recalibrateBatchNorm` for a backend that reads back only asynchronously (webgpu in
 * Node): each chunk's moments are computed by the same kernels, awaited, then packed as
 * `shardMoments` packs them, so the result is the same as the synchronous pass's.
 */
export async function recalibrateBatchNormAsync(model: tf.LayersModel, chunks: RecalibrationChunks, group: RecalibrationGroup): Promise<number> {
  const pass = startPass(model, chunks, group);
  if (pass === undefined) return probedBatchNormLayers(model).length;
  try {
    for (const probed of pass.layers) {
      const channels = channelsOf(probed.layer);
      const stride = momentsLength(channels);
      const all = new Float32Array(chunks.count * stride);
      for (const [i, c] of pass.mine.entries()) {
        const x = layerInput(probed, pass.inputs[i] as tf.Tensor);
        try {
          all.set(await shardMomentsAsync(x), c * stride);
        } finally {
          x.dispose();
        }
      }
      mergeInto(probed.layer, all, chunks.count, channels, group);
    }
  } finally {
    tf.dispose(pass.inputs);
  }
  return pass.layers.length;
}

/** The BN layers and this rank's chunk inputs (the caller disposes them); undefined when there is nothing to do. */
interface Pass {
  layers: ProbedLayer[];
  /** The chunks this rank computes, and their inputs. */
  mine: number[];
  inputs: tf.Tensor[];
}

function startPass(model: tf.LayersModel, chunks: RecalibrationChunks, group: RecalibrationGroup): Pass | undefined {
  const layers = probedBatchNormLayers(model);
  if (layers.length === 0 || chunks.count === 0) return undefined;
  const mine = Array.from({ length: chunks.count }, (_, c) => c).filter((c) => c % group.size === group.rank);
  return { layers, mine, inputs: mine.map((c) => chunks.input(c)) };
}

function channelsOf(layer: ProbedLayer['layer']): number {
  const weightRank = layer.movingMean.shape.length;
  if (weightRank !== 1) throw new NnError('NN_ERR_RECALIBRATION', `layer "${layer.name}": moving statistics of rank ${weightRank}, expected 1`);
  return layer.movingMean.shape[0] as number;
}

/** The layer's input in inference mode for one chunk (the caller disposes it). */
function layerInput({ layer, probe }: ProbedLayer, input: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const x = probe(input);
    const axis = layer.axis < 0 ? layer.axis + x.shape.length : layer.axis;
    if (axis !== x.shape.length - 1) {
      throw new NnError(
        'NN_ERR_RECALIBRATION',
        `layer "${layer.name}": batch-norm recalibration supports only the last axis (channels last), got axis ${layer.axis}`,
      );
    }
    return x;
  });
}

/** Sums every rank's chunk moments, merges them in chunk order and writes the layer's moving statistics. */
function mergeInto(layer: ProbedLayer['layer'], all: Float32Array, count: number, channels: number, group: RecalibrationGroup): void {
  group.allReduce(all, 'sum');
  const merged = mergeMoments(all, count, channels);
  if (merged.count === 0) return;
  tf.tidy(() => {
    layer.movingMean.write(tf.tensor1d(merged.mean));
    layer.movingVariance.write(tf.tensor1d(merged.variance));
  });
}
