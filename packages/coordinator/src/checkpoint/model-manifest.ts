import path from 'node:path';
import { WEIGHTS_BIN } from '@tfjs-ddp/job';
import { CheckpointError } from './errors.js';

/**
 * Checks, without tfjs, that a model.json and a weights.bin belong together: the manifest
 * names only weights.bin, and its weight specs add up to that file's size. A plain folder
 * that tfjs would fail to load (or load shifted) is refused before it is checkpointed.
 */

const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANTIZED_BYTES: Readonly<Record<string, number>> = { uint8: 1, uint16: 2, float16: 2 };

type Json = Readonly<Record<string, unknown>>;

/** A reason the folder is not loadable, thrown out of the manifest walk; modelFolderProblem returns its message. */
function notLoadable(reason: string): CheckpointError {
  return new CheckpointError('CHECKPOINT_ERR_CORRUPT', reason);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Bytes one weight spec takes in weights.bin; undefined for strings (their length is in the data). */
function specBytes(spec: unknown, index: number): number | undefined {
  if (!isObject(spec) || typeof spec['name'] !== 'string') throw notLoadable(`weight spec ${index} has no name`);
  const shape = spec['shape'];
  if (!Array.isArray(shape) || !shape.every((d): d is number => Number.isInteger(d) && d >= 0)) {
    throw notLoadable(`weight ${spec['name']} has a bad shape`);
  }
  const elements = shape.reduce((a, b) => a * b, 1);
  const dtype = spec['dtype'];
  if (dtype === 'string') return undefined;
  const quantization = spec['quantization'];
  const bytes = isObject(quantization) ? QUANTIZED_BYTES[String(quantization['dtype'])] : DTYPE_BYTES[String(dtype)];
  if (bytes === undefined) throw notLoadable(`weight ${spec['name']} has an unknown dtype`);
  return elements * bytes;
}

/** The reason the pair is not a loadable plain model folder, or undefined when it is. */
export function modelFolderProblem(modelJson: string, weightsBytes: number): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(modelJson);
  } catch (cause) {
    return `not JSON (${(cause as Error).message})`;
  }
  if (!isObject(json) || !isObject(json['modelTopology']) || !Array.isArray(json['weightsManifest'])) {
    return 'not a tfjs layers model (needs modelTopology and weightsManifest)';
  }
  let paths = 0;
  let expected: number | undefined = 0;
  try {
    for (const group of json['weightsManifest'] as unknown[]) {
      if (!isObject(group) || !Array.isArray(group['paths']) || !Array.isArray(group['weights'])) {
        throw notLoadable('a weightsManifest group needs paths and weights');
      }
      for (const p of group['paths'] as unknown[]) {
        // tfjs reads every listed path and concatenates them: only one weights.bin, once.
        if (typeof p !== 'string' || path.posix.normalize(p) !== WEIGHTS_BIN) {
          throw notLoadable(`the manifest names ${JSON.stringify(p)}, not ./${WEIGHTS_BIN}`);
        }
        paths += 1;
      }
      for (const [index, spec] of (group['weights'] as unknown[]).entries()) {
        const bytes = specBytes(spec, index);
        expected = expected === undefined || bytes === undefined ? undefined : expected + bytes;
      }
    }
  } catch (cause) {
    return (cause as Error).message;
  }
  if (paths === 0 && (weightsBytes > 0 || expected !== 0)) return `there are weights but the manifest names no ${WEIGHTS_BIN}`;
  if (paths > 1) return `the manifest names ${WEIGHTS_BIN} ${paths} times`;
  if (expected !== undefined && expected !== weightsBytes) {
    return `the manifest's weights take ${expected} bytes but ${WEIGHTS_BIN} has ${weightsBytes}`;
  }
  return undefined;
}
