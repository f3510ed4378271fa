import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { decodeFrameBytes, encodeFrameBytes } from '@tfjs-ddp/protocol';
import { freePort, jobState, modelBytes, startCliJob, until, type CliJob } from './harness/cli-job.js';
import { launchPeerProcesses, launchPeerRanks, type PeerRanks } from './harness/peer-ranks.js';
import type { PeerRankStart } from './harness/peer-rank.js';
import { exitsWithin, startCli, type RunningProcess } from './harness/processes.js';
import { OPCODE, wsExchange, wsFrame } from './harness/raw-ws.js';

/**
 * Issue 7, test 6: who may join. A worker with the wrong token, a worker of another job
 * (--job-id), a process that tries to join a process group with another secret, and a
 * worker too many: each is refused with its code, and nothing else changes — the job
 * completes with the model of the same job run undisturbed, bit for bit, and the process
 * group computes what it computes undisturbed.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'admission-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'the-right-token\n');
const wrongTokenFile = path.join(dir, 'wrong-token');
writeFileSync(wrongTokenFile, 'a-wrong-token\n');
const JOB_ID = 'admission-job';
const JOB_ARGS = ['--model', 'mlp', '--dataset', 'synthetic', '--global-batch', '16', '--max-steps', '30', '--seed', '5'];

const jobs: CliJob[] = [];
const groups: PeerRanks[] = [];
const strays: RunningProcess[] = [];
after(() => {
  jobs.forEach((j) => j.kill());
  groups.forEach((g) => g.kill());
  strays.forEach((p) => p.kill());
});

async function job(name: string, workerArgs?: (i: number) => readonly string[]): Promise<CliJob> {
  const j = await startCliJob({ outDir: path.join(dir, name), tokenFile, workers: 2, jobArgs: JOB_ARGS, jobId: JOB_ID, workerArgs, timeoutMs: 150_000 });
  jobs.push(j);
  return j;
}

function stranger(port: number, args: string[], token = tokenFile): RunningProcess {
  const p = startCli(['worker', '--coordinator', `ws://127.0.0.1:${port}`, '--token-file', token, '--threads', '1', '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--backend', 'wasm', '--connect-timeout', '20', ...args], { timeoutMs: 60_000 });
  strays.push(p);
  return p;
}

test('a wrong token, another job\'s worker, a peer without the job secret and a worker too many are refused with their codes; the job\'s model is bit-identical to an undisturbed run', { timeout: 170_000 }, async () => {
  const baseline = await job('baseline');
  baseline.startWorker(0);
  baseline.startWorker(1);

  const peerPort = await freePort();
  const j = await job('admission', (i) => (i === 0 ? ['--peer-port', String(peerPort)] : []));
  j.startWorker(0);
  await until('worker 0 to join', async () => (await jobState(j.port)).workers === 1, 60_000);

  const startedAt = Date.now();
  const wrongToken = stranger(j.port, [], wrongTokenFile);
  const otherJob = stranger(j.port, ['--job-id', 'another-job']);
  // A refused worker exits 1 promptly (the wrong token is refused at the upgrade, which logs
  // nothing to time from: the 30 s count from the spawn, start-up on two busy cores included).
  assert.equal(await exitsWithin(wrongToken, 'the worker with a wrong token', startedAt, 30_000), 1, wrongToken.output());
  assert.match(wrongToken.output(), /the coordinator refused this worker: .*\[COORD_ERR_BAD_TOKEN\]/);
  assert.equal(await exitsWithin(otherJob, "another job's worker", startedAt, 30_000), 1, otherJob.output());
  assert.match(otherJob.output(), /the coordinator refused this worker: .*\[COORD_ERR_WRONG_JOB\]/);
  assert.equal((await jobState(j.port)).workers, 1, 'the refused workers were not counted');

  // Worker 0 is rank 0 (it joined first) and already listens on its peer port; the intruder claims rank 1
  // of the job's group (the job id) and dials it. Worker 0 takes the connection up once it connects its group.
  const intruder = await launchPeerProcesses([{ rank: 1, size: 2, secret: 'not-the-job-secret', groupId: `${JOB_ID}/g0`, connectTimeoutMs: 60_000, steps: 1, length: 8 }]);
  groups.push(intruder);
  intruder.releaseWith(0, [{ rank: 0, host: '127.0.0.1', port: peerPort }, { rank: 1, host: '127.0.0.1', port: intruder.ports[0] ?? 0 }]);
  await new Promise((resolve) => setTimeout(resolve, 500));

  j.startWorker(1);
  await until('training', async () => (await jobState(j.port)).state === 'training', 90_000);
  const join = encodeFrameBytes({ v: 2, t: 'join', token: 'the-right-token', jobId: JOB_ID, host: '127.0.0.1', peerPort: 4000, threads: 1, backend: 'wasm', pid: 1 });
  const full = await wsExchange({ host: '127.0.0.1', port: j.port, bytes: wsFrame({ opcode: OPCODE.binary, payload: join }), timeoutMs: 10_000, token: 'the-right-token' });
  const answer = full.messages[0] === undefined ? undefined : decodeFrameBytes(full.messages[0]).message;
  assert.equal(answer?.t === 'refuse' ? answer.code : `no refusal (${answer?.t ?? 'nothing'})`, 'COORD_ERR_JOB_FULL');
  assert.equal(full.closeCode, 1008);

  await intruder.waitFor('the intruder to be refused', () => intruder.errors()[0] !== undefined, 60_000);
  assert.equal(intruder.errors()[0], 'COLL_ERR_AUTH', JSON.stringify(intruder.reports));
  await Promise.all([j.finished(), baseline.finished()]);
  assert.ok(modelBytes(path.join(dir, 'admission')).equals(modelBytes(path.join(dir, 'baseline'))), 'the model differs from the undisturbed run\'s');
});

test('processes that try to join a process group with another secret are refused with COLL_ERR_AUTH; the group computes bit-identically', { timeout: 90_000 }, async () => {
  const start = { secret: 'the-group-secret', groupId: 'admission-group', connectTimeoutMs: 30_000, steps: 8, length: 1031 };
  const quiet = await launchPeerRanks(2, start);
  groups.push(quiet);
  quiet.release(0);
  quiet.release(1);
  await quiet.waitFor('the undisturbed totals', () => quiet.totals().every((t) => t !== ''), 60_000);

  const ranks = await launchPeerRanks(2, start);
  groups.push(ranks);
  ranks.release(0);
  // One intruder claims each rank of the group and dials the other: rank 0 is connecting (its acceptor is
  // live), rank 1 not yet (its listener holds the intruder until it connects).
  const starts: PeerRankStart[] = [0, 1].map((claimed) => ({ ...start, rank: claimed, size: 2, secret: 'another-secret' }));
  const intruders = await launchPeerProcesses(starts);
  groups.push(intruders);
  intruders.releaseWith(0, [{ rank: 0, host: '127.0.0.1', port: intruders.ports[0] ?? 0 }, { rank: 1, host: '127.0.0.1', port: ranks.ports[1] ?? 0 }]);
  intruders.releaseWith(1, [{ rank: 0, host: '127.0.0.1', port: ranks.ports[0] ?? 0 }, { rank: 1, host: '127.0.0.1', port: intruders.ports[1] ?? 0 }]);
  await intruders.waitFor('intruder 1 to be refused by rank 0', () => intruders.errors()[1] !== undefined, 30_000);
  ranks.release(1);
  await intruders.waitFor('intruder 0 to be refused by rank 1', () => intruders.errors()[0] !== undefined, 30_000);
  assert.deepEqual(intruders.errors(), ['COLL_ERR_AUTH', 'COLL_ERR_AUTH'], JSON.stringify(intruders.reports));

  await ranks.waitFor('the totals', () => ranks.reports.every((r) => r.some((m) => m.kind === 'result' || m.kind === 'error')), 60_000);
  assert.deepEqual(ranks.errors(), [undefined, undefined], JSON.stringify(ranks.reports));
  assert.deepEqual(ranks.totals(), quiet.totals());
  await Promise.all([quiet.exited(10_000), ranks.exited(10_000), intruders.exited(10_000)]);
});
