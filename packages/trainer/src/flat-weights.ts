import * as tf from '@tensorflow/tfjs';
import { TrainerError } from './errors.js';

/** Number of float32 values in a list of tensors or variables. */
export function totalSize(tensors: readonly { size: number }[]): number {
  return tensors.reduce((n, t) => n + t.size, 0);
}

function checkLength(what: string, length: number, expected: number): void {
  if (length !== expected) {
    throw new TrainerError('TRAINER_ERR_GRADIENT_SIZE', `${what} buffer holds ${length} values, expected ${expected}`);
  }
}

/**
 * The one flattening of tfjs variables: their values one after another, in list order,
 * into `out` (a new buffer when not given). `what` names the buffer in errors.
 */
export function readVariables(variables: readonly tf.Variable[], out?: Float32Array, what = 'weight'): Float32Array {
  const size = totalSize(variables);
  const flat = out ?? new Float32Array(size);
  checkLength(what, flat.length, size);
  let offset = 0;
  for (const v of variables) {
    flat.set(v.dataSync() as Float32Array, offset);
    offset += v.size;
  }
  return flat;
}

/** Assigns a buffer laid out by `readVariables` (here or on another replica) to the variables. */
export function writeVariables(variables: readonly tf.Variable[], flat: Float32Array, what = 'weight'): void {
  checkLength(what, flat.length, totalSize(variables));
  let offset = 0;
  for (const v of variables) {
    const values = flat.slice(offset, offset + v.size);
    tf.tidy(() => v.assign(tf.tensor(values, v.shape, 'float32')));
    offset += v.size;
  }
}

/** Every variable of the model (trainable and not: BN moving statistics too), in `model.weights` order. */
function allVariables(model: tf.LayersModel): tf.Variable[] {
  return model.weights.map((w) => w.read() as tf.Variable);
}

/** Size of the buffer `readAllWeights` fills. */
export function allWeightsSize(model: tf.LayersModel): number {
  return totalSize(allVariables(model));
}

/** Every weight of the model in one buffer: what rank 0 broadcasts and checkpoints store. */
export function readAllWeights(model: tf.LayersModel, out?: Float32Array): Float32Array {
  return readVariables(allVariables(model), out);
}

/** Writes a buffer made by `readAllWeights` (possibly on another replica) into the model. */
export function writeAllWeights(model: tf.LayersModel, flat: Float32Array): void {
  writeVariables(allVariables(model), flat);
}
