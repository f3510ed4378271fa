import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Coordinator } from '@tfjs-ddp/coordinator';
import { decodeFrameBytes, encodeFrameBytes, type JobConfig, type Message } from '@tfjs-ddp/protocol';
import { jobState, startCliJob, type CliJob } from './harness/cli-job.js';
import { assembleFrame, packr } from './harness/protocol-samples.js';
import { OPCODE, wsExchange, wsFrame } from './harness/raw-ws.js';

/**
 * What the coordinator fuzz found, one small case each, so each finding is a named test
 * that fails until it is fixed. A coordinator that might crash runs as a CLI process.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'fuzz-findings-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'the-right-token\n');
const jobs: CliJob[] = [];
after(() => jobs.forEach((j) => j.kill()));
const config: JobConfig = { model: 'mlp', dataset: 'synthetic', epochs: 1, globalBatch: 8, optimizer: { name: 'sgd' }, seed: 1, maxSteps: 2 };

async function waitingCoordinator(name: string): Promise<CliJob> {
  const j = await startCliJob({ outDir: path.join(dir, name), tokenFile, workers: 1, jobArgs: ['--model', 'mlp', '--dataset', 'synthetic', '--max-steps', '2'], jobId: 'findings-job', timeoutMs: 60_000 });
  jobs.push(j);
  return j;
}

function answerOf(messages: Buffer[]): Message | undefined {
  const first = messages[0];
  return first === undefined ? undefined : decodeFrameBytes(first).message;
}

test('a header whose version is a long string is refused with PROTOCOL_ERR_VERSION, and the coordinator lives on', async () => {
  const j = await waitingCoordinator('long-version');
  // The refusal's reason quotes the version; at 2000 characters it breaks the 1024-character limit of `reason`.
  const frame = assembleFrame(packr.pack({ v: 'x'.repeat(2000), t: 'join' }), new Uint8Array(0));
  const outcome = await wsExchange({ host: '127.0.0.1', port: j.port, bytes: wsFrame({ opcode: OPCODE.binary, payload: frame }), timeoutMs: 10_000, token: 'the-right-token' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(j.coordinator.child.exitCode, null, `the coordinator exited:\n${j.coordinator.output().slice(-2000)}`);
  const answer = answerOf(outcome.messages);
  assert.equal(answer?.t, 'refuse');
  assert.equal(answer?.t === 'refuse' ? answer.code : '', 'PROTOCOL_ERR_VERSION');
  assert.equal(outcome.closeCode, 1008);
  assert.equal((await jobState(j.port)).state, 'waiting');
});

test('frames behind a refused frame on the same connection are ignored: a fail frame from a connection that never joined does not fail the job', async () => {
  const j = await waitingCoordinator('pipelined-fail');
  const fail = encodeFrameBytes({ v: 2, t: 'fail', code: 'FUZZ', reason: 'a stranger says the job failed', rank: -1 });
  // Both messages in one write: the second is read before the refusal's close completes.
  const bytes = Buffer.concat([wsFrame({ opcode: OPCODE.binary, payload: Buffer.from('not a frame') }), wsFrame({ opcode: OPCODE.binary, payload: fail })]);
  const outcome = await wsExchange({ host: '127.0.0.1', port: j.port, bytes, timeoutMs: 10_000, token: 'the-right-token' });
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(answerOf(outcome.messages)?.t, 'refuse');
  assert.equal(j.coordinator.child.exitCode, null, `the job ended:\n${j.coordinator.output().slice(-2000)}`);
  assert.equal((await jobState(j.port)).state, 'waiting');
});

test('a join naming another job by a long id is refused with COORD_ERR_WRONG_JOB', async () => {
  const coordinator = await Coordinator.start({ port: 0, host: '127.0.0.1', token: 'the-right-token', workers: 1, config, outDir: path.join(dir, 'long-job-id'), jobId: 'findings-job' });
  try {
    const join = encodeFrameBytes({ v: 2, t: 'join', token: 'the-right-token', jobId: 'j'.repeat(1000), host: '127.0.0.1', peerPort: 4000, threads: 1, backend: 'wasm', pid: 1 });
    const outcome = await wsExchange({ host: '127.0.0.1', port: coordinator.port, bytes: wsFrame({ opcode: OPCODE.binary, payload: join }), timeoutMs: 10_000, token: 'the-right-token' });
    const answer = answerOf(outcome.messages);
    assert.equal(answer?.t, 'refuse');
    assert.equal(answer?.t === 'refuse' ? answer.code : '', 'COORD_ERR_WRONG_JOB', `refused with ${answer?.t === 'refuse' ? `${answer.code}: ${answer.reason}` : 'nothing'}`);
  } finally {
    await coordinator.close();
  }
});

test('a joined worker that sends a bad frame before the job starts is dropped like one that leaves; the job goes on waiting', async () => {
  const j = await waitingCoordinator('joined-then-bad');
  const join = encodeFrameBytes({ v: 2, t: 'join', token: 'the-right-token', jobId: '', host: '127.0.0.1', peerPort: 4000, threads: 1, backend: 'wasm', pid: 1 });
  const bytes = Buffer.concat([wsFrame({ opcode: OPCODE.binary, payload: join }), wsFrame({ opcode: OPCODE.binary, payload: Buffer.from('garbage') })]);
  const outcome = await wsExchange({ host: '127.0.0.1', port: j.port, bytes, timeoutMs: 10_000, token: 'the-right-token' });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const answer = answerOf(outcome.messages);
  assert.equal(answer?.t === 'fail' || answer?.t === 'refuse' ? answer.code : 'no answer', 'PROTOCOL_ERR_TRUNCATED');
  assert.equal(outcome.closeCode, 1008);
  // A joined worker whose connection closes before the start is simply no longer counted; a bad frame fails the whole job instead.
  assert.equal(j.coordinator.child.exitCode, null, `the job ended:\n${j.coordinator.output().slice(-2000)}`);
  const state = await jobState(j.port);
  assert.deepEqual([state.state, state.workers], ['waiting', 0]);
});
