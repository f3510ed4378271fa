import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MODEL_JSON, WEIGHTS_BIN, writeModelFolder } from '@tfjs-ddp/job';
import { toPortableModel } from '@tfjs-ddp/nn';
import { TrainerError } from './errors.js';

function concatWeightData(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  const parts = Array.isArray(data) ? data : [data];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), offset);
    offset += p.byteLength;
  }
  return out;
}

/**
 * A tfjs IOHandler for a folder in the standard layout (`model.json` + `weights.bin`),
 * the one `tf.loadLayersModel('file://…/model.json')` opens with tfjs-node. Pure tfjs has
 * no file-system handler; this one needs none of the native packages.
 */
export function folderIO(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const bytes = artifactsToBytes(artifacts);
      await writeModelFolder(dir, bytes.modelJson, bytes.weights);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonFile = path.join(dir, MODEL_JSON);
      let text: string;
      try {
        text = readFileSync(jsonFile, 'utf8');
      } catch (cause) {
        throw new TrainerError('TRAINER_ERR_MODEL_FILE', `${jsonFile}: ${(cause as Error).message}`, { cause });
      }
      return artifactsOf(text, jsonFile, (p) => {
        const file = path.join(dir, p);
        try {
          return readFileSync(file);
        } catch (cause) {
          throw new TrainerError('TRAINER_ERR_MODEL_FILE', `${jsonFile} names weights file ${p}, which cannot be read`, { cause });
        }
      });
    },
  };
}

/**
 * tfjs's artifacts from a model.json's text and its weights files (read by `readWeights`
 * with the manifest's relative path), `where` naming the model in errors.
 */
function artifactsOf(text: string, where: string, readWeights: (relativePath: string) => Uint8Array): tf.io.ModelArtifacts {
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(text) as tf.io.ModelJSON;
  } catch (cause) {
    throw new TrainerError('TRAINER_ERR_MODEL_FILE', `${where}: ${(cause as Error).message}`, { cause });
  }
  if (modelJson.modelTopology === undefined || !Array.isArray(modelJson.weightsManifest)) {
    throw new TrainerError('TRAINER_ERR_MODEL_FILE', `${where}: not a tfjs layers model (needs modelTopology and weightsManifest)`);
  }
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of modelJson.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) buffers.push(readWeights(p));
  }
  const weightData = concatWeightData(buffers.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer));
  return {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    weightSpecs,
    weightData: weightData.buffer as ArrayBuffer,
  };
}

/** A model folder's two files as bytes: what rank 0 sends the coordinator at the end of a job. */
export interface ModelArtifactsBytes {
  modelJson: string;
  weights: Uint8Array;
}

function artifactsToBytes(artifacts: tf.io.ModelArtifacts): ModelArtifactsBytes {
  const weights = artifacts.weightData === undefined ? new Uint8Array(0) : concatWeightData(artifacts.weightData);
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
  };
  return { modelJson: JSON.stringify(modelJson), weights };
}

/** The trained model as the bytes of a plain tfjs model folder (tfjs-ddp's layers turned back into tfjs's). */
export async function modelArtifacts(model: tf.LayersModel): Promise<ModelArtifactsBytes> {
  const portable = await toPortableModel(model);
  let bytes: ModelArtifactsBytes | undefined;
  try {
    await portable.save(
      tf.io.withSaveHandler(async (artifacts) => {
        bytes = artifactsToBytes(artifacts);
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
  } finally {
    if (portable !== model) portable.dispose();
  }
  if (bytes === undefined) throw new TrainerError('TRAINER_ERR_MODEL_FILE', 'tfjs did not hand over the model artifacts');
  return bytes;
}

/**
 * Saves a trained model as a plain tfjs model folder: tfjs-ddp's own layers are turned
 * back into their tfjs counterparts first, so any tfjs can open it.
 */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<string> {
  const portable = await toPortableModel(model);
  try {
    await portable.save(folderIO(dir));
  } finally {
    if (portable !== model) portable.dispose();
  }
  return path.join(dir, MODEL_JSON);
}

/**
 * The model behind the bytes of a model folder (`modelArtifacts`): how a user's model,
 * built in the main thread, is rebuilt in every rank thread. Its weights are the user's.
 */
export function loadModelBytes(bytes: ModelArtifactsBytes, where = 'the model handed to fit'): Promise<tf.LayersModel> {
  const artifacts = artifactsOf(bytes.modelJson, where, () => bytes.weights);
  return withLayerHint(tf.loadLayersModel(tf.io.fromMemory(artifacts)), where);
}

/**
 * tfjs's "Unknown layer: X" means the class was never registered in this thread: rank
 * threads have their own tfjs, so the registration done where the model was built does
 * not reach them. Say how to fix it.
 */
async function withLayerHint(loading: Promise<tf.LayersModel>, where: string): Promise<tf.LayersModel> {
  try {
    return await loading;
  } catch (cause) {
    const unknown = /Unknown (layer|constraint|initializer|regularizer|activation)[^:]*: ([\w$]+)/.exec((cause as Error).message);
    if (unknown === null) throw new TrainerError('TRAINER_ERR_MODEL_FILE', `${where}: ${(cause as Error).message}`, { cause });
    const [, kind, name] = unknown;
    throw new TrainerError(
      'TRAINER_ERR_UNREGISTERED_CLASS',
      `${where} uses the ${kind} class ${name}, which is not registered in the rank threads (each has its own tfjs): ` +
        `put the class and tf.serialization.registerClass(${name}) in a module and name it in the "register" option ` +
        '(an absolute path or file URL), which every rank thread imports before it rebuilds the model',
      { cause },
    );
  }
}

/** Opens a model folder (or its model.json) written by `saveModel` or by any tfjs. */
export function loadModelFolder(dirOrJson: string): Promise<tf.LayersModel> {
  const dir = dirOrJson.endsWith('.json') ? path.dirname(dirOrJson) : dirOrJson;
  return tf.loadLayersModel(folderIO(dir));
}
