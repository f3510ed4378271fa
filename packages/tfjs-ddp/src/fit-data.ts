import * as tf from '@tensorflow/tfjs';
import { ArrayDataset } from '@tfjs-ddp/data';
import { FitError } from './errors.js';

/** Inputs: a tensor of shape [samples, ...inputShape], or its values (shape from the model's input). */
export type InputData = tf.Tensor | Float32Array | number[];
/** Labels: class indices (a 1-D tensor or array), or one-hot rows (a 2-D tensor). */
export type LabelData = tf.Tensor | Int32Array | Uint8Array | number[];
/** One batch of a `tf.data.Dataset` or an iterator: `{ xs, ys }` as `model.fitDataset` takes, or `[xs, ys]`. */
export type DataBatch = { xs: tf.Tensor; ys: tf.Tensor } | [tf.Tensor, tf.Tensor];
/** Batches to train on: a `tf.data.Dataset` (anything with `iterator()`), or a (async) iterable of batches. */
export type BatchSource = { iterator(): Promise<{ next(): Promise<IteratorResult<unknown>> }> } | AsyncIterable<DataBatch> | Iterable<DataBatch>;

/** What a model takes and gives: one sample's shape and the classes its output stands for. */
export interface ModelShape {
  inputShape: number[];
  numClasses: number;
}

/**
 * The sample shape and classes of a model: one input with a fully known sample shape, one
 * output of one unit per class (a single sigmoid unit: two classes).
 */
export function modelShapeOf(model: tf.LayersModel): ModelShape {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new FitError('FIT_ERR_MODEL', `the model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; fit trains models with one of each`);
  }
  const input = (model.inputs[0] as tf.SymbolicTensor).shape.slice(1);
  if (input.some((d) => d === null || d < 1)) {
    throw new FitError('FIT_ERR_MODEL', `the model's input shape [${input.join(', ')}] (after the batch) must be fully known`);
  }
  const units = (model.outputs[0] as tf.SymbolicTensor).shape.at(-1);
  if (typeof units !== 'number' || units < 1) throw new FitError('FIT_ERR_MODEL', 'the model\'s output must end in a known number of units');
  return { inputShape: input as number[], numClasses: units === 1 ? 2 : units };
}

function inputValues(x: InputData, shape: ModelShape, what: string): Float32Array {
  if (x instanceof tf.Tensor) {
    const sample = x.shape.slice(1);
    if (sample.length !== shape.inputShape.length || sample.some((d, i) => d !== shape.inputShape[i])) {
      throw new FitError('FIT_ERR_DATA', `${what} has shape [${x.shape.join(', ')}]; the model takes [samples, ${shape.inputShape.join(', ')}]`);
    }
    return x.dtype === 'float32' ? (x.dataSync() as Float32Array).slice() : Float32Array.from(x.dataSync());
  }
  if (x instanceof Float32Array || Array.isArray(x)) return Float32Array.from(x);
  throw new FitError('FIT_ERR_DATA', `${what} must be a tf.Tensor, a Float32Array or an array of numbers`);
}

/** Class indices from indices or one-hot rows; a one-hot row must hold exactly one 1. */
function labelValues(y: LabelData, numClasses: number, what: string): Int32Array {
  if (!(y instanceof tf.Tensor)) {
    if (y instanceof Int32Array || y instanceof Uint8Array || Array.isArray(y)) return Int32Array.from(y, (v) => checkedIndex(v, what));
    throw new FitError('FIT_ERR_DATA', `${what} must be a tf.Tensor, an Int32Array, a Uint8Array or an array of class indices`);
  }
  const values = y.dataSync();
  if (y.rank === 1 || (y.rank === 2 && y.shape[1] === 1 && numClasses === 2)) return Int32Array.from(values, (v) => checkedIndex(v, what));
  if (y.rank !== 2 || y.shape[1] !== numClasses) {
    throw new FitError('FIT_ERR_DATA', `${what} has shape [${y.shape.join(', ')}]: give class indices [samples] or one-hot rows [samples, ${numClasses}]`);
  }
  const labels = new Int32Array(y.shape[0] as number);
  for (let i = 0; i < labels.length; i++) {
    const row = values.subarray(i * numClasses, (i + 1) * numClasses);
    const hot = row.indexOf(1);
    if (hot < 0 || row.some((v, c) => v !== (c === hot ? 1 : 0))) throw new FitError('FIT_ERR_DATA', `${what}: row ${i} is not one-hot`);
    labels[i] = hot;
  }
  return labels;
}

function checkedIndex(value: number, what: string): number {
  if (!Number.isInteger(value)) throw new FitError('FIT_ERR_DATA', `${what}: label ${value} is not a class index`);
  return value;
}

/** Samples and labels as the data set the rank threads share; sizes and labels are checked. */
export function arraysToDataset(name: string, x: InputData, y: LabelData, shape: ModelShape): ArrayDataset {
  const values = inputValues(x, shape, `${name} inputs`);
  const labels = labelValues(y, shape.numClasses, `${name} labels`);
  try {
    return new ArrayDataset({ name, x: values, y: labels, inputShape: shape.inputShape, numClasses: shape.numClasses });
  } catch (cause) {
    throw new FitError('FIT_ERR_DATA', (cause as Error).message, { cause });
  }
}

/**
 * Reads every batch of `source` into one data set. The rank threads sample global batches
 * from shared memory, so a dataset is read once, whole: it must fit in memory (larger
 * data: the CLI's `npy:` files stream from disk).
 */
export async function batchesToDataset(name: string, source: BatchSource, shape: ModelShape): Promise<ArrayDataset> {
  const inputs: Float32Array[] = [];
  const labels: Int32Array[] = [];
  let index = 0;
  for await (const batch of iterate(source)) {
    const pair = batch as Partial<{ xs: unknown; ys: unknown }> | undefined;
    const [xs, ys] = Array.isArray(batch) ? (batch as unknown[]) : [pair?.xs, pair?.ys];
    if (!(xs instanceof tf.Tensor) || !(ys instanceof tf.Tensor)) {
      throw new FitError('FIT_ERR_DATA', `${name}: batch ${index} is not { xs, ys } (or [xs, ys]) of tensors`);
    }
    const part = arraysToDataset(`${name} batch ${index}`, xs, ys, shape);
    // A tf.data iterator hands its tensors over: they are ours to free.
    tf.dispose([xs, ys]);
    const all = part.batch(Int32Array.from({ length: part.size }, (_, i) => i));
    inputs.push(all.x);
    labels.push(all.y);
    index++;
  }
  if (index === 0) throw new FitError('FIT_ERR_DATA', `${name} gave no batch`);
  return new ArrayDataset({ name, x: concat(inputs, Float32Array), y: concat(labels, Int32Array), ...shape });
}

async function* iterate(source: BatchSource): AsyncGenerator<unknown> {
  if ('iterator' in source && typeof source.iterator === 'function') {
    const iterator = await source.iterator();
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
    return;
  }
  if (Symbol.asyncIterator in source || Symbol.iterator in source) {
    yield* source as AsyncIterable<unknown>;
    return;
  }
  throw new FitError('FIT_ERR_DATA', 'the data must be a tf.data.Dataset, or an iterable or async iterable of batches');
}

function concat<T extends Float32Array | Int32Array>(parts: T[], type: { new (length: number): T }): T {
  const out = new type(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
