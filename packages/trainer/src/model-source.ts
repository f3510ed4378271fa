import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { createZooModel, isZooModelName, ZOO_MODEL_NAMES, type ZooOptions } from '@tfjs-ddp/nn';
import { TrainerError } from './errors.js';
import { loadModelFolder } from './model-files.js';

/** What a user module's `createModel` receives. Use this `tf`: it is the instance that trains. */
export interface CreateModelContext {
  tf: typeof tf;
  inputShape: number[];
  numClasses: number;
  seed: number;
}

/**
 * A model by name: a zoo model (`cnn-bn`, …), a JavaScript module exporting
 * `createModel(context)` (sync or async, returning a `tf.LayersModel`), or a `model.json`
 * (or the folder holding it). Errors name the file and what is wrong with it.
 */
export async function loadModel(spec: string, options: ZooOptions & { inputShape: number[]; numClasses: number; seed: number }): Promise<tf.LayersModel> {
  if (isZooModelName(spec)) return createZooModel(spec, options);
  const file = path.resolve(spec);
  if (!existsSync(file)) {
    throw new TrainerError(
      'TRAINER_ERR_MODEL_FILE',
      `model "${spec}" is neither a zoo model (${ZOO_MODEL_NAMES.join(', ')}) nor an existing file (looked at ${file})`,
    );
  }
  if (/\.(mjs|js|cjs)$/.test(file)) return loadModule(file, options);
  return loadModelFolder(file);
}

async function loadModule(file: string, options: { inputShape: number[]; numClasses: number; seed: number }): Promise<tf.LayersModel> {
  let module: { createModel?: unknown; default?: { createModel?: unknown } };
  try {
    module = (await import(pathToFileURL(file).href)) as typeof module;
  } catch (cause) {
    throw new TrainerError('TRAINER_ERR_MODEL_FILE', `${file}: cannot import (${(cause as Error).message})`, { cause });
  }
  const createModel = module.createModel ?? module.default?.createModel;
  if (typeof createModel !== 'function') {
    throw new TrainerError('TRAINER_ERR_MODEL_FILE', `${file}: must export a function createModel({ tf, inputShape, numClasses, seed })`);
  }
  let model: unknown;
  try {
    model = await createModel({ tf, inputShape: options.inputShape, numClasses: options.numClasses, seed: options.seed } satisfies CreateModelContext);
  } catch (cause) {
    throw new TrainerError('TRAINER_ERR_MODEL_FILE', `${file}: createModel threw: ${(cause as Error).message}`, { cause });
  }
  if (!(model instanceof tf.LayersModel)) {
    throw new TrainerError(
      'TRAINER_ERR_MODEL_FILE',
      `${file}: createModel must return a tf.LayersModel built with the tf it receives; got ${model === null ? 'null' : typeof model}`,
    );
  }
  return model;
}
