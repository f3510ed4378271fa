import { bytesOf, viewPayload } from './dtypes.js';
import { protocolError } from './errors.js';
import type { CheckpointDataMessage, ModelMessage, StepMessage, TestSetMessage } from './job-messages.js';

/**
 * The byte layout of every raw payload between the coordinator and a worker, each written
 * once: the sender encodes with it, the validator checks the size with it and the receiver
 * decodes with it, so the three cannot drift apart. Numbers are the bytes of typed arrays
 * (float32, int32), in the platform's byte order (little-endian everywhere we run).
 *
 *   step            indices (n int32) [ | x (n × sampleSize float32) | y (n int32) ]
 *                   n = sum(counts), every rank's shard in rank order; x and y only when
 *                   sampleSize > 0 (the coordinator streams the samples)
 *   testSet         x (count × prod(inputShape) float32) | y (count int32)
 *   state           the training state (at least one float32)
 *   checkpointData  model.json (jsonBytes, UTF-8) | weights.bin (weightsBytes) | state (float32)
 *   model           model.json (jsonBytes, UTF-8) | weights.bin
 *
 * Encoders return the payload parts (views, not copies) that `JobSocket.send` writes after
 * the header, with the header fields that describe them. Decoders check the length first
 * and throw PROTOCOL_ERR_LENGTH when the bytes do not fit the header.
 */

const FLOAT32_BYTES = 4;
const INT32_BYTES = 4;

/** Refuses a payload whose length is not the one its header implies. */
export function expectPayloadBytes(type: string, expected: number, actual: number): void {
  if (expected !== actual) {
    throw protocolError('PROTOCOL_ERR_LENGTH', `${type} header implies ${expected} payload bytes but ${actual} followed`);
  }
}

/** Elements of one sample of this shape. */
export function sampleSizeOf(inputShape: readonly number[]): number {
  return inputShape.reduce((a, b) => a * b, 1);
}

/** Samples as the coordinator streams them: inputs (n × sampleSize) and labels (n). */
export interface PayloadSamples {
  readonly x: Float32Array;
  readonly y: Int32Array;
}

/** One rank's part of a step order, as its worker hands it on. */
export interface StepShard {
  readonly indices: Int32Array;
  /** Present when the coordinator streams the samples. */
  readonly samples?: PayloadSamples;
}

function checkSamples(type: string, samples: PayloadSamples, count: number, sampleSize: number): void {
  if (samples.x.length !== count * sampleSize || samples.y.length !== count) {
    throw protocolError(
      'PROTOCOL_ERR_LENGTH',
      `${type}: ${samples.x.length} input values and ${samples.y.length} labels ` +
        `do not make ${count} samples of ${sampleSize} values`,
    );
  }
}

export function stepPayloadBytes(sampleCount: number, sampleSize: number): number {
  return sampleCount * INT32_BYTES + (sampleSize > 0 ? sampleCount * (sampleSize * FLOAT32_BYTES + INT32_BYTES) : 0);
}

/** Every rank's shard in rank order as one array (the step payload's indices), and the shard sizes. */
export function joinShards(shards: readonly ArrayLike<number>[]): { counts: number[]; indices: Int32Array } {
  const counts = shards.map((s) => s.length);
  const indices = new Int32Array(counts.reduce((a, b) => a + b, 0));
  let offset = 0;
  for (const shard of shards) {
    indices.set(shard, offset);
    offset += shard.length;
  }
  return { counts, indices };
}

/** The parts of a step order's payload: the joined indices, then their samples when the coordinator streams them. */
export function encodeStepPayload(indices: Int32Array, sampleSize: number, samples?: PayloadSamples): Uint8Array[] {
  if ((samples === undefined) !== (sampleSize === 0)) {
    throw protocolError('PROTOCOL_ERR_LENGTH', `step: a sample size of ${sampleSize} ${samples === undefined ? 'needs' : 'forbids'} samples`);
  }
  if (samples === undefined) return [bytesOf(indices)];
  checkSamples('step', samples, indices.length, sampleSize);
  return [bytesOf(indices), bytesOf(samples.x), bytesOf(samples.y)];
}

/** A step order's payload cut into one shard per rank (copies: each goes to its own rank thread). */
export function decodeStepPayload(message: Pick<StepMessage, 'counts' | 'sampleSize'>, payload: Uint8Array): StepShard[] {
  const { counts, sampleSize } = message;
  const total = counts.reduce((a, b) => a + b, 0);
  expectPayloadBytes('step', stepPayloadBytes(total, sampleSize), payload.byteLength);
  const xStart = total * INT32_BYTES;
  const yStart = xStart + total * sampleSize * FLOAT32_BYTES;
  const indices = viewPayload('int32', payload.subarray(0, xStart)) as Int32Array;
  const x = sampleSize > 0 ? (viewPayload('float32', payload.subarray(xStart, yStart)) as Float32Array) : undefined;
  const y = sampleSize > 0 ? (viewPayload('int32', payload.subarray(yStart)) as Int32Array) : undefined;
  let offset = 0;
  return counts.map((count) => {
    const end = offset + count;
    const shard: StepShard = {
      indices: indices.slice(offset, end),
      ...(x === undefined || y === undefined ? {} : { samples: { x: x.slice(offset * sampleSize, end * sampleSize), y: y.slice(offset, end) } }),
    };
    offset = end;
    return shard;
  });
}

export function testSetPayloadBytes(count: number, sampleSize: number): number {
  return count * (sampleSize * FLOAT32_BYTES + INT32_BYTES);
}

/** The parts of a test set's payload; `count` and `inputShape` go in its header. */
export function encodeTestSetPayload(samples: PayloadSamples, inputShape: readonly number[]): Uint8Array[] {
  checkSamples('testSet', samples, samples.y.length, sampleSizeOf(inputShape));
  return [bytesOf(samples.x), bytesOf(samples.y)];
}

/** The test set's samples, as views of the payload where it is aligned. */
export function decodeTestSetPayload(message: Pick<TestSetMessage, 'count' | 'inputShape'>, payload: Uint8Array): PayloadSamples {
  const sampleSize = sampleSizeOf(message.inputShape);
  expectPayloadBytes('testSet', testSetPayloadBytes(message.count, sampleSize), payload.byteLength);
  const yStart = message.count * sampleSize * FLOAT32_BYTES;
  return {
    x: viewPayload('float32', payload.subarray(0, yStart)) as Float32Array,
    y: viewPayload('int32', payload.subarray(yStart)) as Int32Array,
  };
}

/** Refuses a training state that is empty or not a whole number of float32. */
export function checkStatePayloadBytes(bytes: number): void {
  if (bytes === 0 || bytes % FLOAT32_BYTES !== 0) {
    throw protocolError('PROTOCOL_ERR_LENGTH', `a state of ${bytes} bytes is not a whole, non-zero number of float32`);
  }
}

export function encodeStatePayload(state: Float32Array): Uint8Array[] {
  checkStatePayloadBytes(state.byteLength);
  return [bytesOf(state)];
}

/** The training state, copied out of the payload. */
export function decodeStatePayload(payload: Uint8Array): Float32Array {
  checkStatePayloadBytes(payload.byteLength);
  return new Float32Array(viewPayload('float32', payload));
}

/** A model as tfjs saves it: model.json and the bytes of weights.bin. */
export interface ModelFiles {
  readonly modelJson: string;
  readonly weights: Uint8Array;
}

/** A checkpoint: the model and the rest of the training state (optimizer slots, step counters). */
export interface CheckpointFiles extends ModelFiles {
  readonly state: Float32Array;
}

/** Bytes of the state at the end of a checkpoint payload; refused unless a whole number of float32. */
export function checkpointStateBytes(payloadBytes: number, jsonBytes: number, weightsBytes: number): number {
  const stateBytes = payloadBytes - jsonBytes - weightsBytes;
  if (stateBytes < 0 || stateBytes % FLOAT32_BYTES !== 0) {
    throw protocolError(
      'PROTOCOL_ERR_LENGTH',
      `checkpoint of ${payloadBytes} bytes with model.json of ${jsonBytes} and weights of ${weightsBytes} ` +
        `leaves a state of ${stateBytes} bytes, not a whole number of float32`,
    );
  }
  return stateBytes;
}

/** Header fields and payload parts of a checkpoint. */
export function encodeCheckpointPayload(checkpoint: CheckpointFiles): { jsonBytes: number; weightsBytes: number; parts: Uint8Array[] } {
  const json = new TextEncoder().encode(checkpoint.modelJson);
  return { jsonBytes: json.byteLength, weightsBytes: checkpoint.weights.byteLength, parts: [json, checkpoint.weights, bytesOf(checkpoint.state)] };
}

/** A checkpoint, copied out of the payload (it outlives the message while it is written to disk). */
export function decodeCheckpointPayload(message: Pick<CheckpointDataMessage, 'jsonBytes' | 'weightsBytes'>, payload: Uint8Array): CheckpointFiles {
  const { jsonBytes, weightsBytes } = message;
  checkpointStateBytes(payload.byteLength, jsonBytes, weightsBytes);
  const stateStart = jsonBytes + weightsBytes;
  return {
    modelJson: new TextDecoder().decode(payload.subarray(0, jsonBytes)),
    weights: new Uint8Array(payload.subarray(jsonBytes, stateStart)),
    state: new Float32Array(viewPayload('float32', payload.subarray(stateStart))),
  };
}

/** Header field and payload parts of a trained model. */
export function encodeModelPayload(model: ModelFiles): { jsonBytes: number; parts: Uint8Array[] } {
  const json = new TextEncoder().encode(model.modelJson);
  return { jsonBytes: json.byteLength, parts: [json, model.weights] };
}

/** A trained model, copied out of the payload. */
export function decodeModelPayload(message: Pick<ModelMessage, 'jsonBytes'>, payload: Uint8Array): ModelFiles {
  if (message.jsonBytes > payload.byteLength) {
    throw protocolError('PROTOCOL_ERR_LENGTH', `model header implies a model.json of ${message.jsonBytes} bytes but only ${payload.byteLength} followed`);
  }
  return {
    modelJson: new TextDecoder().decode(payload.subarray(0, message.jsonBytes)),
    weights: new Uint8Array(payload.subarray(message.jsonBytes)),
  };
}
