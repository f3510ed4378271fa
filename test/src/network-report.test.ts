import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Coordinator, type JobStatus } from '@tfjs-ddp/coordinator';
import type { JobConfig } from '@tfjs-ddp/protocol';
import { startCli, type RunningProcess } from './harness/processes.js';

/**
 * A real job of two worker processes on loopback: /status shows, for each worker, the
 * bytes its peer links carried per step, and they are what the all-reduce must send.
 * With two processes every all-reduce algorithm (ring: the other half in the
 * reduce-scatter, its own half in the all-gather; recursive doubling: the whole buffer
 * once) sends each process the whole gradient: 4 bytes per trainable parameter. BN is
 * local and the replica checks are off, so nothing else crosses the links in a step.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'network-report-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'test-token\n');
const running: RunningProcess[] = [];
const STEPS = 12;
after(() => running.forEach((p) => p.kill()));

test('2 worker processes: /status shows each one sending the gradient per step, a link rate and a network share', { timeout: 180_000 }, async () => {
  // No BN recalibration: its all-reduces after the last step could land in that step's figures.
  const config: JobConfig = {
    model: 'cnn-bn', dataset: 'synthetic', epochs: 1, globalBatch: 16, optimizer: { name: 'sgd', learningRate: 0.05 }, seed: 7, maxSteps: STEPS, bnRecalibrate: 'off',
  };
  const statuses: Promise<JobStatus>[] = [];
  let port = 0;
  const coordinator = await Coordinator.start({
    port: 0, host: '127.0.0.1', token: 'test-token', workers: 2, config, outDir: path.join(dir, 'out'), bnMode: 'local', checkReplicasEvery: 0, waitTimeoutMs: 60_000,
    hooks: {
      // Read over HTTP, as a user would; the request is answered once the step's last report is in.
      onStep: () => void statuses.push(fetch(`http://127.0.0.1:${port}/status`).then(async (r) => (await r.json()) as JobStatus)),
    },
  });
  port = coordinator.port;
  const workers = [0, 1].map(() => {
    const worker = startCli(['worker', '--coordinator', `ws://127.0.0.1:${port}`, '--token-file', tokenFile, '--threads', '1', '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--backend', 'wasm']);
    running.push(worker);
    return worker;
  });
  try {
    assert.equal((await coordinator.run()).steps, STEPS);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- worker output ---\n${workers.map((w) => w.output()).join('\n---\n')}`);
  }
  assert.deepEqual(await Promise.all(workers.map((w) => w.exited)), [0, 0]);
  const last = (await Promise.all(statuses)).at(-1);
  assert.ok(last !== undefined && last.job.parameters !== null);
  const gradientBytes = 4 * last.job.parameters;
  console.log(`# cnn-bn: ${last.job.parameters} parameters, ${gradientBytes} gradient bytes; network: ${JSON.stringify(last.workers.map((w) => w.network))}`);
  assert.equal(last.workers.length, 2);
  assert.equal(last.job.compress, 'none', 'the compression in force is part of /status');
  for (const w of last.workers) {
    const n = w.network;
    assert.ok(n !== null, `${w.id}: no network figures in /status`);
    // The mean over the window, steps 2-12 (step 1's report also carries rank 0's state broadcast to the new ring).
    // Bytes a rank moved across a report boundary inside the window stay in it; only the boundary with step 1 can move
    // at most one step's bytes out (a worker's main thread that relays step 1's report late, on a loaded machine).
    // Exact per-operation counts are the collective's traffic test.
    assert.equal(n.windowSteps, STEPS - 1);
    const off = Math.abs(n.payloadBytesPerStep - gradientBytes);
    assert.ok(off <= gradientBytes / n.windowSteps + 1, `${w.id}: payload per step ${n.payloadBytesPerStep}, the gradient is ${gradientBytes}`);
    // Frame heads and tags come on top: a few hundred bytes, far below 1 % of the gradient.
    const framing = n.sentBytesPerStep - n.payloadBytesPerStep;
    assert.ok(framing > 0 && framing < gradientBytes / 100, `${w.id}: ${framing} bytes of framing`);
    assert.ok(n.receivedBytesPerStep >= gradientBytes * (1 - 1 / n.windowSteps), `${w.id}: received ${n.receivedBytesPerStep}`);
    assert.ok(n.netMsPerStep > 0 && n.linkBitsPerSec !== null && n.linkBitsPerSec > 0, `${w.id}: no time or rate`);
    assert.ok(n.networkFraction !== null && n.networkFraction > 0 && n.networkFraction <= 1, `${w.id}: fraction ${n.networkFraction}`);
    assert.ok(n.sentBytesTotal >= STEPS * gradientBytes, `${w.id}: total ${n.sentBytesTotal} over ${STEPS} steps`);
  }
});
