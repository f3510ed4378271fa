import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Coordinator } from '@tfjs-ddp/coordinator';
import type { Compression, JobConfig } from '@tfjs-ddp/protocol';
import { compareWithReference, referenceRun, stepLosses } from './harness/reference.js';
import { savedWeights, startCli, type RunningProcess } from './harness/processes.js';

/**
 * `--compress bf16` between 2 real worker processes against the float32 run (the one
 * replica on the whole batch that `multiprocess.test.ts` shows a float32 job equals to
 * 1e-5). Tolerances from the format: one step's summed gradient is off by at most
 * (P + 1) u sum|g_rank| with u = 2^-8 (see the collective test), about 1.2 % of the
 * gradient's size for P = 2, so after T steps:
 *  - plain SGD: every weight's change is off by up to (P + 1) u = 1.2 % of how far it moved;
 *    the weights here move by less than 1 in 5 steps, so 1.2e-2 of (1 + |w|) holds it;
 *  - Adam: it divides by the gradient's own scale, so an element whose ranks' gradients
 *    cancel can take a different update of up to ~lr per step: T * lr / (1 + |w|) = 0.015.
 * Losses are read before each update and drift only through the weights; measured at
 * about 3e-4, they are held to 2e-3.
 * Replica checksums run every step: compressed or not, every rank must keep the same bits.
 */
const LIMITS = { sgd: 3 * 2 ** -8, adam: 5 * 0.003 } as const;
const LOSS_LIMIT = 2e-3;
const dir = mkdtempSync(path.join(tmpdir(), 'compress-job-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'test-token\n');
const running: RunningProcess[] = [];
after(() => running.forEach((p) => p.kill()));

async function runJob(name: string, config: JobConfig, compress: Compression): Promise<{ weights: Float32Array; losses: number[] }> {
  const out = path.join(dir, name);
  const coordinator = await Coordinator.start({
    port: 0, host: '127.0.0.1', token: 'test-token', workers: 2, config, outDir: out, checkReplicasEvery: 1, compress, waitTimeoutMs: 60_000,
  });
  const workers = [0, 1].map(() => {
    const worker = startCli(['worker', '--coordinator', `ws://127.0.0.1:${coordinator.port}`, '--token-file', tokenFile, '--threads', '1',
      '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--backend', 'wasm']);
    running.push(worker);
    return worker;
  });
  try {
    assert.equal((await coordinator.run()).steps, config.maxSteps);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- worker output ---\n${workers.map((w) => w.output()).join('\n---\n')}`);
  }
  assert.deepEqual(await Promise.all(workers.map((w) => w.exited)), [0, 0], workers.map((w) => w.output()).join('\n'));
  return { weights: savedWeights(out), losses: stepLosses(out) };
}

for (const optimizer of ['sgd', 'adam'] as const) {
  test(`--compress bf16 across 2 worker processes stays within the format's tolerance of the float32 run (${optimizer})`, async (t) => {
    const learningRate = optimizer === 'sgd' ? 0.05 : 0.003;
    const config: JobConfig = { model: 'cnn-bn', dataset: 'synthetic', epochs: 1, globalBatch: 16, optimizer: { name: optimizer, learningRate }, seed: 7, maxSteps: 5 };
    const diff = compareWithReference(t, `bf16 ${optimizer}`, await runJob(`bf16-${optimizer}`, config, 'bf16'), await referenceRun(config));
    const limit = LIMITS[optimizer];
    assert.ok(diff.lossDiff <= LOSS_LIMIT && diff.weightDiff <= limit, `bf16 ${optimizer}: loss ${diff.lossDiff}, weights ${diff.weightDiff} (limits ${LOSS_LIMIT}, ${limit})`);
    // Compression must change something: a run equal to float32 to 1e-6 never compressed.
    assert.ok(diff.weightDiff > 1e-6, `bf16 ${optimizer}: weights equal the float32 run (${diff.weightDiff}): nothing was compressed`);
  });
}
