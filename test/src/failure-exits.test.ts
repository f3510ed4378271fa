import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { freePort, jobState, until, waitForHealth } from './harness/cli-job.js';
import { exitsWithin, startCli, type RunningProcess } from './harness/processes.js';

/**
 * Issue 22, part 1 and the signal paths the SIGTERM test leaves out: on every failure path
 * each process ends with its documented code (README, "Exit codes") within 10 s of the
 * moment it should, and no process is left behind (each test fails, and kills it, if one
 * is). The measured exit times are printed.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'failure-exits-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'failure-exits-token\n');
const JOB_ARGS = ['--model', 'mlp', '--dataset', 'synthetic', '--global-batch', '16', '--seed', '3', '--optimizer', 'sgd', '--lr', '0.05'];
const EXIT_MS = 10_000;
const running: RunningProcess[] = [];
after(() => running.forEach((p) => p.kill()));

function coordinator(port: number, name: string, extra: string[]): RunningProcess {
  const p = startCli(['coordinator', '--port', String(port), '--host', '127.0.0.1', '--workers', '2', '--token-file', tokenFile, '--job-id', 'exits-job',
    '--out', path.join(dir, name), '--no-progress', '--log-level', 'info', ...JOB_ARGS, ...extra], { timeoutMs: 120_000 });
  running.push(p);
  return p;
}

/** A worker that gives up 3 s after losing its coordinator (the default waits 120 s for a restart). */
function worker(port: number, extra: string[] = []): RunningProcess {
  const p = startCli(['worker', '--coordinator', `ws://127.0.0.1:${port}`, '--token-file', tokenFile, '--job-id', 'exits-job', '--threads', '1', '--advertise-host', '127.0.0.1',
    '--listen-host', '127.0.0.1', '--backend', 'wasm', '--log-level', 'info', '--connect-timeout', '3', ...extra], { timeoutMs: 120_000 });
  running.push(p);
  return p;
}

test('the job fails while a worker is still forming the ring: the coordinator and that worker exit 1 within 10 s', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const c = coordinator(port, 'ring-forming', ['--heartbeat-timeout', '2', '--max-steps', '50']);
  await waitForHealth(port);
  const forming = worker(port);
  await until('the first worker to join', async () => (await jobState(port)).workers === 1, 60_000);
  // The second worker advertises an address nobody listens on, so the first one's ring links
  // wait for it (up to the 300 s startup deadline); then it dies before training starts.
  const doomed = worker(port, ['--advertise-host', '127.0.0.2']);
  await until('the ring to form', async () => (await jobState(port)).state === 'starting', 60_000);
  await new Promise((resolve) => setTimeout(resolve, 500));
  doomed.kill('SIGKILL');
  const killedAt = Date.now();
  assert.equal(await exitsWithin(c, 'the coordinator', killedAt, EXIT_MS), 1, c.output());
  assert.match(c.output(), /COORD_ERR_/);
  assert.equal(await exitsWithin(forming, 'the worker forming the ring', c.exitedAt() ?? killedAt, EXIT_MS), 1);
  assert.match(forming.output(), /the job failed: .*\[COORD_ERR_/);
});

test('a worker that cannot reach any coordinator exits 1 right after --connect-timeout', { timeout: 60_000 }, async () => {
  const startedAt = Date.now();
  const w = worker(await freePort());
  assert.equal(await exitsWithin(w, 'the worker without a coordinator', startedAt, 3_000 + EXIT_MS), 1);
  assert.match(w.output(), /could not reach the coordinator/);
});

for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`${signal} to a coordinator waiting for its workers: exit ${code} within 10 s; the joined worker exits 1 once it gives up on it`, { timeout: 60_000 }, async () => {
    const port = await freePort();
    const c = coordinator(port, `waiting-${signal}`, ['--max-steps', '10']);
    await waitForHealth(port);
    const joined = worker(port);
    await until('the worker to join', async () => (await jobState(port)).workers === 1, 60_000);
    c.kill(signal);
    const signalledAt = Date.now();
    assert.equal(await exitsWithin(c, 'the coordinator', signalledAt, EXIT_MS), code, c.output());
    assert.match(c.output(), new RegExp(`${signal}: not training, nothing to checkpoint`));
    assert.equal(await exitsWithin(joined, 'the joined worker', signalledAt, 3_000 + EXIT_MS), 1, joined.output());
  });
}

/** A 2-worker job in training with one worker frozen (SIGSTOP): the step in flight never commits, so no checkpoint can be written. */
async function frozenJob(name: string, termGrace: number): Promise<{ c: RunningProcess; live: RunningProcess; frozen: RunningProcess }> {
  const port = await freePort();
  const c = coordinator(port, name, ['--max-steps', '100000', '--heartbeat-timeout', '600', '--term-grace', String(termGrace)]);
  await waitForHealth(port);
  const live = worker(port);
  const frozen = worker(port);
  await until('step 3', async () => (await jobState(port)).step >= 3, 90_000);
  frozen.kill('SIGSTOP');
  return { c, live, frozen };
}

test('SIGTERM while no checkpoint can be written: exit 143 when --term-grace runs out, saying so; the workers are told the job is paused', { timeout: 120_000 }, async () => {
  const { c, live, frozen } = await frozenJob('grace', 2);
  c.kill('SIGTERM');
  const graceEnds = Date.now() + 2_000;
  assert.equal(await exitsWithin(c, 'the coordinator', graceEnds, EXIT_MS), 143, c.output());
  assert.ok((c.exitedAt() ?? 0) >= graceEnds - 100, 'exited before the grace ran out');
  assert.match(c.output(), /no checkpoint was written within --term-grace 2 s/);
  assert.equal(await exitsWithin(live, 'the live worker', c.exitedAt() ?? graceEnds, 3_000 + EXIT_MS), 1, live.output());
  assert.match(live.output(), /job paused \(SIGTERM to the coordinator\)/);
  frozen.kill('SIGKILL');
});

test('SIGINT, then SIGINT again: the second one exits 130 at once, without waiting for the checkpoint', { timeout: 120_000 }, async () => {
  const { c, live, frozen } = await frozenJob('second-signal', 60);
  c.kill('SIGINT');
  await until('the first SIGINT to be logged', async () => /SIGINT: stopping after the step in flight/.test(c.output()), 10_000);
  c.kill('SIGINT');
  const againAt = Date.now();
  assert.equal(await exitsWithin(c, 'the coordinator', againAt, EXIT_MS), 130, c.output());
  assert.ok((c.exitedAt() ?? Infinity) - againAt < 2_000, 'the second signal did not exit at once');
  assert.match(c.output(), /SIGINT again: exiting at once/);
  assert.equal(await exitsWithin(live, 'the live worker', c.exitedAt() ?? againAt, 3_000 + EXIT_MS), 1, live.output());
  frozen.kill('SIGKILL');
});
