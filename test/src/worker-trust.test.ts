import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { encodeNpy, openDataset } from '@tfjs-ddp/data';
import { modelDefinitionHash } from '@tfjs-ddp/job';
import type { JobConfig } from '@tfjs-ddp/protocol';
import { startFakeCoordinator, type FakeCoordinator, type FakeJob } from './harness/fake-coordinator.js';
import { exitsWithin, startCli, type RunningProcess } from './harness/processes.js';

/**
 * A worker runs code and reads files only from its own command line (DESIGN §8). A fake
 * coordinator (plain ws://, anyone can run one where a worker is pointed at it) names a
 * model module that exists on the worker's disk and writes a marker when imported: the
 * worker must refuse before importing it, with a stable code, and exit non-zero.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'worker-trust-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'any-token\n');
const running: RunningProcess[] = [];
after(() => {
  running.forEach((p) => p.kill());
  rmSync(dir, { recursive: true, force: true });
});

/** A model module that leaves `marker` behind when it is imported: proof that it ran. */
function markerModule(file: string, marker: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'imported');\n` +
      'export function createModel({ tf, inputShape, numClasses }) {\n' +
      "  return tf.sequential({ layers: [tf.layers.flatten({ inputShape }), tf.layers.dense({ units: numClasses, activation: 'softmax' })] });\n}\n",
  );
}

const synthetic = openDataset('synthetic', 1).train;
const base: JobConfig = { model: 'mlp', dataset: 'synthetic', epochs: 1, globalBatch: 8, optimizer: { name: 'sgd' }, seed: 1, maxSteps: 2 };

function fakeJob(config: JobConfig): FakeJob {
  return {
    config,
    modelHash: modelDefinitionHash(config.model, config),
    datasetFingerprint: synthetic.fingerprint(),
    inputShape: [...synthetic.inputShape],
    numClasses: synthetic.numClasses,
  };
}

function worker(url: string, extra: string[] = []): RunningProcess {
  const args = ['--token-file', tokenFile, '--threads', '1', '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1'];
  args.push('--backend', 'wasm', '--connect-timeout', '10');
  const p = startCli(['worker', '--coordinator', url, ...args, '--log-level', 'info', ...extra], { timeoutMs: 90_000 });
  running.push(p);
  return p;
}

/** The worker's exit code, which must come within 10 s of the failure it reported: a worker that hangs on a bad assignment is a bug too. */
async function exitAfterFail(fake: FakeCoordinator, w: RunningProcess): Promise<number | null> {
  await fake.next('fail', 60_000).catch((error: Error) => assert.fail(`${error.message}\n${w.output()}`));
  return exitsWithin(w, 'the refusing worker', Date.now(), 10_000);
}

test('a coordinator naming a model file the worker was not given: refused with WORKER_ERR_UNTRUSTED_MODEL, never imported, exit 1', async () => {
  const marker = path.join(dir, 'untrusted-imported');
  const module = path.join(dir, 'untrusted', 'model.mjs');
  markerModule(module, marker);
  // Bundled data, so that nothing but the model check stands between the worker and the import.
  const fake = await startFakeCoordinator(fakeJob({ ...base, model: module }));
  try {
    const w = worker(fake.url);
    assert.equal(await exitAfterFail(fake, w), 1);
    assert.match(w.output(), /runs model code only from its own command line: start this worker with --model .*\[WORKER_ERR_UNTRUSTED_MODEL\]/);
    assert.equal(existsSync(marker), false, 'the worker imported the module the coordinator named');
    const fail = await fake.next('fail', 5_000);
    assert.equal(fail.t === 'fail' ? fail.code : '', 'WORKER_ERR_UNTRUSTED_MODEL');
  } finally {
    await fake.close();
  }
});

test('a coordinator naming data files the worker was not given: refused with WORKER_ERR_UNTRUSTED_DATA, exit 1', async () => {
  const images = path.join(dir, 'images.npy');
  const labels = path.join(dir, 'labels.npy');
  writeFileSync(images, encodeNpy(new Float32Array(8), [4, 2]));
  writeFileSync(labels, encodeNpy(new Int32Array(4), [4]));
  const fake = await startFakeCoordinator(fakeJob({ ...base, dataset: `npy:${images},${labels}` }));
  try {
    const w = worker(fake.url);
    assert.equal(await exitAfterFail(fake, w), 1);
    assert.match(w.output(), /reads data files only from its own command line: start this worker with --dataset .*\[WORKER_ERR_UNTRUSTED_DATA\]/);
  } finally {
    await fake.close();
  }
});

test("the worker's own --model passes: its own copy is loaded (the coordinator's path is never touched) when the hashes match", async () => {
  const marker = path.join(dir, 'own-imported');
  const own = path.join(dir, 'own', 'model.mjs');
  markerModule(own, marker);
  // The coordinator's copy lives elsewhere (another machine's path): same bytes, same name.
  const theirs = path.join(dir, 'theirs', 'model.mjs');
  mkdirSync(path.dirname(theirs), { recursive: true });
  copyFileSync(own, theirs);
  const job = fakeJob({ ...base, model: theirs });
  rmSync(theirs);
  const fake = await startFakeCoordinator(job);
  try {
    const w = worker(fake.url, ['--model', own]);
    const ready = await Promise.race([fake.next('workerReady', 60_000), fake.next('fail', 60_000)]);
    assert.equal(ready.t, 'workerReady', `${JSON.stringify(ready)}\n${w.output()}`);
    assert.ok(existsSync(marker), "the worker's own model module was not the one loaded");
    w.kill();
  } finally {
    await fake.close();
  }
});

test("a worker whose own --model differs from the coordinator's model is refused with WORKER_ERR_MODEL_MISMATCH before importing it", async () => {
  const marker = path.join(dir, 'other-imported');
  const own = path.join(dir, 'other', 'model.mjs');
  markerModule(own, marker);
  const fake = await startFakeCoordinator(fakeJob({ ...base, model: 'cnn-bn' }));
  try {
    const w = worker(fake.url, ['--model', own]);
    assert.equal(await exitAfterFail(fake, w), 1);
    assert.match(w.output(), /\[WORKER_ERR_MODEL_MISMATCH\]/);
    assert.equal(existsSync(marker), false);
  } finally {
    await fake.close();
  }
});
