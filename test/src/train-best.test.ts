import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { initBackend } from '@tfjs-ddp/backend';
import { openDataset } from '@tfjs-ddp/data';
import { evaluate, loadModelFolder } from '@tfjs-ddp/trainer';
import { startCli } from './harness/processes.js';

/**
 * Issue 17: `train --early-stop N --save-best` judges every epoch by the held-out metric.
 * On the synthetic set the mlp reaches 100 % held-out accuracy in its first epoch, so with
 * `--monitor accuracy --early-stop 1` epoch 2 cannot improve and the run stops there, with
 * epoch 1's model in <out>/best. Both saved models are evaluated here, in another process
 * on another backend: best/ must score epoch 1's logged loss and model.json epoch 2's.
 */
test('train --early-stop stops after the epochs without improvement; --save-best keeps the best epoch\'s model', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'train-best-'));
  try {
    const args = ['train', '--model', 'mlp', '--dataset', 'synthetic', '--global-batch', '64', '--epochs', '10', '--optimizer', 'sgd', '--lr', '0.5'];
    const p = startCli([...args, '--monitor', 'accuracy', '--early-stop', '1', '--save-best', '--threads', '2', '--no-progress', '--out', out], {
      timeoutMs: 120_000,
    });
    assert.equal(await p.exited, 0, p.output().slice(-3000));
    const logs = p.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const epochs = logs.filter((l) => typeof l.testLoss === 'number' && typeof l.epoch === 'number');
    const stopped = logs.find((l) => String(l.msg).startsWith('stopped early'));
    console.log(`# epochs evaluated: ${epochs.map((e) => `${String(e.epoch)}: loss ${String(e.testLoss)}, accuracy ${String(e.testAccuracy)}`).join('; ')}`);
    console.log(`# ${String(stopped?.msg)}`);
    assert.deepEqual(epochs.map((e) => e.epoch), [1, 2], 'two epochs ran of ten');
    assert.equal(epochs[0]?.testAccuracy, 1);
    assert.equal(stopped?.bestEpoch, 1);

    await initBackend('cpu');
    const test = openDataset('synthetic', 1).test;
    for (const [folder, epoch] of [[path.join(out, 'best'), 0], [out, 1]] as const) {
      const model = await loadModelFolder(folder);
      const evaluation = evaluate(model, test);
      const logged = epochs[epoch]?.testLoss as number;
      console.log(`# ${folder}: held-out loss ${evaluation.loss} here (cpu), ${logged} logged after epoch ${epoch + 1} (wasm)`);
      assert.ok(Math.abs(evaluation.loss - logged) <= 1e-3 * logged, `${folder} is the model of epoch ${epoch + 1}`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
