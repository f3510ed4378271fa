import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Packr } from 'msgpackr';
import { WebSocket } from 'ws';
import { Coordinator } from '@tfjs-ddp/coordinator';
import { decodeFrameBytes, type JobConfig } from '@tfjs-ddp/protocol';
import { startCli, type RunningProcess } from './harness/processes.js';

/** Bad configurations get clear errors (with codes) and exits, never hangs. */
const dir = mkdtempSync(path.join(tmpdir(), 'refusals-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'right-token\n');
const wrongTokenFile = path.join(dir, 'wrong-token');
writeFileSync(wrongTokenFile, 'wrong-token\n');
const running: RunningProcess[] = [];
after(() => running.forEach((p) => p.kill()));

const config: JobConfig = { model: 'mlp', dataset: 'synthetic', epochs: 1, globalBatch: 8, optimizer: { name: 'sgd' }, seed: 1, maxSteps: 2 };

function worker(port: number, extra: string[] = [], token = tokenFile): RunningProcess {
  const p = startCli(['worker', '--coordinator', `ws://127.0.0.1:${port}`, '--token-file', token, '--threads', '1', '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--backend', 'wasm', '--connect-timeout', '20', ...extra], { timeoutMs: 90_000 });
  running.push(p);
  return p;
}

test('a worker with the wrong token is refused and exits 1 naming the reason; the job is untouched', async () => {
  const coordinator = await Coordinator.start({ port: 0, host: '127.0.0.1', token: 'right-token', workers: 1, config, outDir: path.join(dir, 'token-job'), waitTimeoutMs: 60_000 });
  const intruder = worker(coordinator.port, [], wrongTokenFile);
  assert.equal(await intruder.exited, 1);
  assert.match(intruder.output(), /the coordinator refused this worker: wrong job token \[COORD_ERR_BAD_TOKEN\]/);
  assert.ok(!intruder.output().includes('right-token') && !intruder.output().includes('wrong-token'), 'tokens are never printed');
  assert.equal(coordinator.status().workers.length, 0);
  // The job still runs with a proper worker.
  const good = worker(coordinator.port);
  const result = await coordinator.run();
  assert.equal(result.steps, 2);
  assert.equal(await good.exited, 0);
});

test('a join in another protocol version is refused with PROTOCOL_ERR_VERSION and the connection closed', async () => {
  const coordinator = await Coordinator.start({ port: 0, host: '127.0.0.1', token: 'right-token', workers: 1, config, outDir: path.join(dir, 'version-job'), waitTimeoutMs: 60_000 });
  const header = new Packr({ useRecords: false }).pack({ v: 99, t: 'join', token: 'right-token', jobId: '', host: 'h', peerPort: 1, threads: 1, backend: 'auto', pid: 1 });
  const frame = Buffer.alloc(8 + header.length);
  frame.writeUInt32LE(header.length, 0);
  frame.writeUInt32LE(0, 4);
  header.copy(frame, 8);
  const ws = new WebSocket(`ws://127.0.0.1:${coordinator.port}`, { headers: { authorization: 'Bearer right-token' } });
  await new Promise((resolve) => ws.once('open', resolve));
  const answer = new Promise<Buffer>((resolve) => ws.once('message', (data) => resolve(data as Buffer)));
  const closed = new Promise<number>((resolve) => ws.once('close', resolve));
  ws.send(frame);
  const { message } = decodeFrameBytes(await answer);
  assert.equal(message.t, 'refuse');
  assert.equal(message.t === 'refuse' ? message.code : '', 'PROTOCOL_ERR_VERSION');
  assert.equal(await closed, 1008);
  await coordinator.close();
});

test('a worker whose model file differs from the coordinator\'s refuses to train (model hash)', async () => {
  const modelFile = path.join(dir, 'model.mjs');
  writeFileSync(modelFile, "export function createModel({ tf, inputShape, numClasses }) { return tf.sequential({ layers: [tf.layers.flatten({ inputShape }), tf.layers.dense({ units: numClasses, activation: 'softmax' })] }); }\n");
  const coordinator = await Coordinator.start({ port: 0, host: '127.0.0.1', token: 'right-token', workers: 1, config: { ...config, model: modelFile }, outDir: path.join(dir, 'hash-job'), waitTimeoutMs: 60_000 });
  // The worker's copy of the file is another model (one more layer).
  writeFileSync(modelFile, "export function createModel({ tf, inputShape, numClasses }) { return tf.sequential({ layers: [tf.layers.flatten({ inputShape }), tf.layers.dense({ units: 16, activation: 'relu' }), tf.layers.dense({ units: numClasses, activation: 'softmax' })] }); }\n");
  const w = worker(coordinator.port, ['--model', modelFile]);
  await assert.rejects(coordinator.run(), { code: 'COORD_ERR_WORKER_FAILED', message: /model .*model\.mjs" here is not the coordinator's/ });
  assert.equal(await w.exited, 1);
  assert.match(w.output(), /\[WORKER_ERR_MODEL_MISMATCH\]/);
});

test('a worker that never comes: the coordinator stops at its deadline naming who joined and how many are missing', async () => {
  const coordinator = await Coordinator.start({ port: 0, host: '127.0.0.1', token: 'right-token', workers: 2, config, outDir: path.join(dir, 'missing-job'), waitTimeoutMs: 4000 });
  const lonely = worker(coordinator.port);
  await assert.rejects(coordinator.run(), { code: 'COORD_ERR_WORKERS_MISSING', message: /only 1 of 2 workers joined within 4 s \(joined: w1 \(127\.0\.0\.1, pid \d+, 1 thread\)\); 1 never connected/ });
  assert.equal(await lonely.exited, 1);
  assert.match(lonely.output(), /the job failed: only 1 of 2 workers joined/);
  // The CLI says the same and exits 1.
  const cli = startCli(['coordinator', '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--wait-timeout', '1', '--model', 'mlp', '--dataset', 'synthetic', '--out', path.join(dir, 'cli-missing')], { env: { TFJS_DDP_TOKEN: 'x' } });
  assert.equal(await cli.exited, 1);
  assert.match(cli.output(), /tfjs-ddp: only 0 of 1 workers joined within 1 s; 1 never connected .* \[COORD_ERR_WORKERS_MISSING\]/);
});

test('a port in use and an unreachable coordinator are clear errors', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  await assert.rejects(Coordinator.start({ port, host: '127.0.0.1', token: 't', workers: 1, config, outDir: path.join(dir, 'port-job') }), { code: 'COORD_ERR_PORT_IN_USE', message: new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`) });
  const cli = startCli(['coordinator', '--port', String(port), '--host', '127.0.0.1', '--workers', '1', '--model', 'mlp', '--dataset', 'synthetic', '--out', path.join(dir, 'cli-port')], { env: { TFJS_DDP_TOKEN: 'x' } });
  assert.equal(await cli.exited, 1);
  assert.match(cli.output(), /is in use.*\[COORD_ERR_PORT_IN_USE\]/);
  blocker.close();
  const lost = startCli(['worker', '--coordinator', `ws://127.0.0.1:${port}`, '--connect-timeout', '2', '--threads', '1'], { env: { TFJS_DDP_TOKEN: 'x' } });
  assert.equal(await lost.exited, 1);
  assert.match(lost.output(), /could not reach the coordinator at ws:\/\/127\.0\.0\.1:\d+ within 2 s .*\[WORKER_ERR_COORDINATOR_UNREACHABLE\]/);
});
