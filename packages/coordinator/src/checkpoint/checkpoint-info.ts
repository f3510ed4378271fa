import { validateJobConfig, type JobConfig } from '@tfjs-ddp/protocol';
import { CheckpointError } from './errors.js';
import { modelFolderProblem } from './model-manifest.js';
import { CHECKPOINT_FORMAT_VERSION, MODEL_JSON, STATE_BIN, WEIGHTS_BIN } from './checkpoint-types.js';
import type { Checkpoint, CheckpointInfo, SamplerState, StateLayout } from './checkpoint-types.js';

/**
 * checkpoint.json in and out, and the structural checks both directions share: what
 * writeCheckpoint refuses to write is exactly what readCheckpoint refuses to read.
 */

type Json = Readonly<Record<string, unknown>>;

/** Thrown inside this file only, caught by decodeCheckpointInfo and structureProblem to become their reason. */
class Problem extends Error {}

function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Problem(`${what} must be an object`);
  return value as Json;
}

function count(h: Json, key: string, what = key): number {
  const value = h[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Problem(`${what} must be a non-negative integer`);
  return value;
}

function samplerState(value: unknown): SamplerState {
  const h = object(value, 'sampler');
  return { seed: count(h, 'seed', 'sampler.seed'), epoch: count(h, 'epoch', 'sampler.epoch'), position: count(h, 'position', 'sampler.position') };
}

function jobConfig(value: unknown): JobConfig {
  try {
    return validateJobConfig(object(value, 'config'));
  } catch (cause) {
    throw new Problem(`config: ${(cause as Error).message}`);
  }
}

function stateLayout(value: unknown): StateLayout {
  if (!Array.isArray(value)) throw new Problem('stateLayout must be a list');
  return value.map((entry: unknown, index) => {
    const h = object(entry, `stateLayout[${index}]`);
    const shape = h['shape'];
    if (typeof h['name'] !== 'string' || !Array.isArray(shape) || !shape.every((d): d is number => Number.isSafeInteger(d) && d >= 0)) {
      throw new Problem(`stateLayout[${index}] must be { name, shape: non-negative integers }`);
    }
    return { name: h['name'], shape: [...shape] };
  });
}

/** JSON data only: what comes back from JSON.parse is what was given, minus what JSON cannot hold. */
function metaObject(value: unknown): Record<string, unknown> {
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(value));
  } catch (cause) {
    throw new Problem(`meta is not JSON data (${(cause as Error).message})`);
  }
  return { ...object(copy, 'meta') };
}

/** Why the layout does not describe a state of `length` floats, or undefined when it does. */
export function stateLayoutProblem(layout: StateLayout, length: number): string | undefined {
  const elements = layout.reduce((sum, e) => sum + e.shape.reduce((a, b) => a * b, 1), 0);
  return elements === length ? undefined : `stateLayout describes ${elements} floats but the state has ${length}`;
}

/** Why this checkpoint cannot be written or resumed from, or undefined when it can. */
export function structureProblem(c: Checkpoint): string | undefined {
  try {
    count(c as unknown as Json, 'step');
    count(c as unknown as Json, 'epoch');
    samplerState(c.sampler);
    jobConfig(c.config);
    if (!(c.weights instanceof Uint8Array)) throw new Problem('weights must be a Uint8Array');
    if (!(c.state instanceof Float32Array)) throw new Problem('state must be a Float32Array');
    if (c.stateLayout !== undefined) {
      const layout = stateLayoutProblem(stateLayout(c.stateLayout), c.state.length);
      if (layout !== undefined) throw new Problem(layout);
    }
    if (c.meta !== undefined) metaObject(c.meta);
    const model = modelFolderProblem(c.modelJson, c.weights.byteLength);
    if (model !== undefined) throw new Problem(`${MODEL_JSON}: ${model}`);
  } catch (cause) {
    if (cause instanceof Problem) return cause.message;
    throw cause;
  }
  return undefined;
}

export function encodeCheckpointInfo(c: Checkpoint, modelJsonBytes: number, createdAt: Date): string {
  const info: CheckpointInfo = {
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    createdAt: createdAt.toISOString(),
    step: c.step,
    epoch: c.epoch,
    sampler: { seed: c.sampler.seed, epoch: c.sampler.epoch, position: c.sampler.position },
    config: c.config,
    files: { [MODEL_JSON]: modelJsonBytes, [WEIGHTS_BIN]: c.weights.byteLength, [STATE_BIN]: c.state.byteLength },
    stateLength: c.state.length,
  };
  if (c.stateLayout !== undefined) info.stateLayout = stateLayout(c.stateLayout);
  if (c.meta !== undefined) info.meta = metaObject(c.meta);
  return `${JSON.stringify(info, null, 2)}\n`;
}

/**
 * Parses checkpoint.json of the folder `dir`. Throws CHECKPOINT_ERR_VERSION for a format
 * this code does not know, CHECKPOINT_ERR_CORRUPT for anything malformed.
 */
export function decodeCheckpointInfo(text: string, dir: string, file: string): CheckpointInfo {
  try {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new Problem(`not JSON (${(cause as Error).message})`);
    }
    const h = object(parsed, 'the file');
    const formatVersion = count(h, 'formatVersion');
    if (formatVersion !== CHECKPOINT_FORMAT_VERSION) {
      const message = `${dir}: ${file} has format version ${formatVersion}, but this tfjs-ddp reads version ${CHECKPOINT_FORMAT_VERSION}`;
      throw new CheckpointError('CHECKPOINT_ERR_VERSION', message, { dir, file });
    }
    const createdAt = h['createdAt'];
    if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) throw new Problem('createdAt must be an ISO time');
    const files = object(h['files'], 'files');
    const info: CheckpointInfo = {
      formatVersion,
      createdAt,
      step: count(h, 'step'),
      epoch: count(h, 'epoch'),
      sampler: samplerState(h['sampler']),
      config: jobConfig(h['config']),
      files: { [MODEL_JSON]: count(files, MODEL_JSON), [WEIGHTS_BIN]: count(files, WEIGHTS_BIN), [STATE_BIN]: count(files, STATE_BIN) },
      stateLength: count(h, 'stateLength'),
    };
    if (h['stateLayout'] !== undefined) info.stateLayout = stateLayout(h['stateLayout']);
    if (h['meta'] !== undefined) info.meta = metaObject(h['meta']);
    return info;
  } catch (cause) {
    if (!(cause instanceof Problem)) throw cause;
    throw new CheckpointError('CHECKPOINT_ERR_CORRUPT', `${dir}: ${file} is malformed: ${cause.message}`, { dir, file, cause });
  }
}
