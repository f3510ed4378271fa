import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfjs-ddp/backend';
import { syntheticDataset } from '@tfjs-ddp/data';
import { createZooModel } from '@tfjs-ddp/nn';
import { loadModel } from './model-source.js';
import { saveModel } from './model-files.js';
import { Replica } from './replica.js';

const dir = mkdtempSync(path.join(tmpdir(), 'model-files-'));

before(async () => {
  await initBackend('wasm');
});

/** Opens a saved folder without this package's handler: plain tfjs from memory. */
async function openWithPlainTfjs(folder: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(path.join(folder, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const group = json.weightsManifest[0];
  assert.ok(group !== undefined);
  const bytes = readFileSync(path.join(folder, group.paths[0] as string));
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: group.weights, weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer }));
}

test('save -> plain tf.loadLayersModel -> same predictions (BN moving stats and dropout included)', async () => {
  const data = syntheticDataset({ size: 64, inputShape: [8, 8, 1], numClasses: 4 });
  const model = createZooModel('cnn-bn-dropout', { inputShape: [8, 8, 1], numClasses: 4 });
  const replica = new Replica({ model, optimizer: { name: 'adam' }, runSeed: 1 });
  for (let step = 0; step < 3; step++) {
    const indices = Int32Array.from({ length: 16 }, (_, i) => step * 16 + i);
    replica.trainStep({ ...data.batch(indices), indices }, step);
  }
  const folder = path.join(dir, 'saved');
  const jsonPath = await saveModel(model, folder);
  assert.equal(jsonPath, path.join(folder, 'model.json'));
  const topology = readFileSync(jsonPath, 'utf8');
  assert.ok(!topology.includes('"class_name":"SampleDropout"'), 'saved with standard tfjs layer classes only');
  assert.ok(topology.includes('"class_name":"Dropout"'));
  const loaded = await openWithPlainTfjs(folder);
  const x = tf.tensor(data.batch(Int32Array.from({ length: 32 }, (_, i) => i)).x, [32, 8, 8, 1]);
  assert.deepEqual([...(loaded.predict(x) as tf.Tensor).dataSync()], [...(model.predict(x) as tf.Tensor).dataSync()]);
  const reopened = await loadModel(folder, { inputShape: [8, 8, 1], numClasses: 4, seed: 1 });
  assert.deepEqual([...(reopened.predict(x) as tf.Tensor).dataSync()], [...(model.predict(x) as tf.Tensor).dataSync()]);
});

test('a user module exporting createModel is loaded; bad modules are refused naming the file', async () => {
  const good = path.join(dir, 'good-model.mjs');
  writeFileSync(good, `export function createModel({ tf, inputShape, numClasses }) {
    return tf.sequential({ layers: [tf.layers.flatten({ inputShape }), tf.layers.dense({ units: numClasses, activation: 'softmax' })] });
  }\n`);
  const model = await loadModel(good, { inputShape: [8, 8, 1], numClasses: 4, seed: 1 });
  assert.deepEqual(model.outputs[0]?.shape, [null, 4]);
  const noExport = path.join(dir, 'no-export.mjs');
  writeFileSync(noExport, 'export const x = 1;\n');
  await assert.rejects(loadModel(noExport, { inputShape: [8], numClasses: 2, seed: 1 }), { code: 'TRAINER_ERR_MODEL_FILE', message: /no-export\.mjs: must export a function createModel/ });
  const wrongType = path.join(dir, 'wrong-type.mjs');
  writeFileSync(wrongType, 'export function createModel() { return 42; }\n');
  await assert.rejects(loadModel(wrongType, { inputShape: [8], numClasses: 2, seed: 1 }), { code: 'TRAINER_ERR_MODEL_FILE', message: /wrong-type\.mjs: createModel must return a tf.LayersModel/ });
  const syntax = path.join(dir, 'syntax.mjs');
  writeFileSync(syntax, 'export function createModel( {\n');
  await assert.rejects(loadModel(syntax, { inputShape: [8], numClasses: 2, seed: 1 }), { code: 'TRAINER_ERR_MODEL_FILE', message: /syntax\.mjs: cannot import/ });
  await assert.rejects(loadModel('nope', { inputShape: [8], numClasses: 2, seed: 1 }), { code: 'TRAINER_ERR_MODEL_FILE', message: /neither a zoo model/ });
  const badJson = path.join(dir, 'bad', 'model.json');
  spawnSync('mkdir', ['-p', path.dirname(badJson)]);
  writeFileSync(badJson, '{"format": "graph-model"}');
  await assert.rejects(loadModel(badJson, { inputShape: [8], numClasses: 2, seed: 1 }), { code: 'TRAINER_ERR_MODEL_FILE', message: /bad\/model\.json: not a tfjs layers model/ });
});
