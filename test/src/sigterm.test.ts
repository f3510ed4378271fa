import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Coordinator, listCheckpoints, type MembershipEvent } from '@tfjs-ddp/coordinator';
import type { JobConfig } from '@tfjs-ddp/protocol';
import { compareWithReference, referenceRun, stepLosses, withinTolerance } from './harness/reference.js';
import { freePort, jobState, modelBytes, until, waitForHealth } from './harness/cli-job.js';
import { savedWeights, startCli, type RunningProcess } from './harness/processes.js';

/**
 * Issue 22, part 2 and 3: SIGTERM to the coordinator at a step chosen by a seed (printed)
 * stops the job after the step in flight, writes the checkpoint of the last committed step
 * (no --checkpoint-every: only the signal writes one) and exits 143 within --term-grace.
 * The coordinator started again with --resume continues from it; its workers reconnect,
 * and the model is bit-identical to the same job run without interruption.
 *
 * Part 2, worker: SIGTERM to one of three workers (--min-workers 2) sends `leave`; the
 * coordinator regroups at once, far below --heartbeat-timeout, the worker exits 143, and
 * the job ends with the one-replica weights within the elastic test's 1e-5 (plain SGD).
 */
const MAX_STEPS = 24;
const JOB_ARGS = ['--model', 'cnn-bn', '--dataset', 'synthetic', '--global-batch', '16', '--max-steps', String(MAX_STEPS), '--seed', '5', '--optimizer', 'sgd', '--lr', '0.05'];
const TERM_GRACE_S = 20;
const dir = mkdtempSync(path.join(tmpdir(), 'sigterm-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'sigterm-token\n');
const running: RunningProcess[] = [];
after(() => running.forEach((p) => p.kill()));

function coordinator(port: number, out: string, extra: string[] = []): RunningProcess {
  const p = startCli(['coordinator', '--port', String(port), '--host', '127.0.0.1', '--workers', '2', '--token-file', tokenFile, '--job-id', 'sigterm-job', '--out', out,
    '--no-progress', '--log-level', 'info', '--term-grace', String(TERM_GRACE_S), ...JOB_ARGS, ...extra], { timeoutMs: 170_000 });
  running.push(p);
  return p;
}

function worker(port: number): RunningProcess {
  const p = startCli(['worker', '--coordinator', `ws://127.0.0.1:${port}`, '--token-file', tokenFile, '--job-id', 'sigterm-job', '--threads', '1', '--advertise-host', '127.0.0.1',
    '--listen-host', '127.0.0.1', '--backend', 'wasm', '--log-level', 'info', '--connect-timeout', '60'], { timeoutMs: 170_000 });
  running.push(p);
  return p;
}

test('SIGTERM to the coordinator: checkpoint of the last committed step, exit 143 within --term-grace; --resume ends bit-identical to an uninterrupted run', { timeout: 170_000 }, async () => {
  const seed = Date.now() % 100_000;
  // Step 2..18: mid-run, with steps left to train after the resume.
  const target = 2 + (seed % 17);
  console.log(JSON.stringify({ sigtermSeed: seed, sigtermAfterStep: target }));
  const uninterruptedOut = path.join(dir, 'uninterrupted');
  const uninterrupted = (async () => {
    const port = await freePort();
    const c = coordinator(port, uninterruptedOut);
    const ws = [worker(port), worker(port)];
    const codes = await Promise.all([c, ...ws].map((p) => p.exited));
    assert.deepEqual(codes, [0, 0, 0], [c, ...ws].map((p) => p.output().slice(-3000)).join('\n---\n'));
    return modelBytes(uninterruptedOut);
  })();

  const out = path.join(dir, 'terminated');
  const port = await freePort();
  const first = coordinator(port, out, ['--resume', out]);
  const workers = [worker(port), worker(port)];
  await until(`the job reached step ${target}`, async () => (await jobState(port)).step >= target, 90_000);
  const signalledAt = Date.now();
  first.child.kill('SIGTERM');
  const code = await first.exited;
  const exitMs = Date.now() - signalledAt;
  console.log(JSON.stringify({ sigtermExitMs: exitMs, code }));
  assert.equal(code, 143, first.output().slice(-3000));
  assert.ok(exitMs < TERM_GRACE_S * 1000, `exited ${exitMs} ms after SIGTERM`);
  const saved = /stopped: checkpoint of step (\d+) written/.exec(first.output());
  assert.ok(saved !== null, `no checkpoint reported:\n${first.output().slice(-3000)}`);
  const savedStep = Number(saved[1]);
  assert.ok(savedStep >= target && savedStep < MAX_STEPS, `checkpoint of step ${savedStep}, SIGTERM after step ${target}`);
  const complete = (await listCheckpoints(out)).filter((c) => c.complete).map((c) => c.step);
  assert.deepEqual(complete, [savedStep], 'the only checkpoint is the one SIGTERM wrote');

  const second = coordinator(port, out, ['--resume', out]);
  await waitForHealth(port);
  const codes = await Promise.all([second, ...workers].map((p) => p.exited));
  assert.deepEqual(codes, [0, 0, 0], [second, ...workers].map((p) => p.output().slice(-3000)).join('\n---\n'));
  assert.match(second.output(), new RegExp(`resuming from .*: ${savedStep} step\\(s\\) already trained`));
  assert.ok(modelBytes(out).equals(await uninterrupted), 'the resumed model differs from the uninterrupted run');
});

test('SIGTERM to a worker: it leaves, the ring re-forms well before the heartbeat deadline, exit 143; weights equal one replica\'s', { timeout: 170_000 }, async (t) => {
  const HEARTBEAT_TIMEOUT_MS = 10_000;
  const config: JobConfig = { model: 'cnn-bn', dataset: 'synthetic', epochs: 1, globalBatch: 12, optimizer: { name: 'sgd', learningRate: 0.05 }, seed: 6, maxSteps: 20 };
  const out = path.join(dir, 'worker-sigterm');
  const events: (MembershipEvent & { at: number })[] = [];
  const workers: RunningProcess[] = [];
  let signalledAt = 0;
  const c = await Coordinator.start({
    port: 0,
    host: '127.0.0.1',
    token: 'sigterm-token',
    jobId: 'sigterm-job',
    workers: 3,
    minWorkers: 2,
    config,
    outDir: out,
    waitTimeoutMs: 60_000,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    onMembership: (event) => events.push({ ...event, at: Date.now() }),
    hooks: {
      onStep: (progress) => {
        if (progress.step === 6 && signalledAt === 0) {
          signalledAt = Date.now();
          workers[2]?.child.kill('SIGTERM');
        }
      },
    },
  });
  for (let i = 0; i < 3; i++) workers.push(worker(c.port));
  const outputs = (): string => workers.map((w) => w.output().slice(-2500)).join('\n---\n');
  let result;
  try {
    result = await c.run();
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- workers ---\n${outputs()}`);
  }
  assert.equal(result.steps, config.maxSteps);
  const lost = events.find((e) => e.kind === 'lost');
  const regrouped = events.find((e) => e.kind === 'regrouped');
  assert.ok(lost !== undefined && regrouped !== undefined, JSON.stringify(events));
  assert.match(lost.reason ?? '', /left \(SIGTERM to the worker\)/, 'the coordinator was told the worker leaves');
  const regroupMs = regrouped.at - signalledAt;
  console.log(JSON.stringify({ workerSigtermToLostMs: lost.at - signalledAt, workerSigtermToRegroupMs: regroupMs, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS }));
  assert.ok(regroupMs < HEARTBEAT_TIMEOUT_MS / 4, `regrouped ${regroupMs} ms after SIGTERM`);
  assert.equal(regrouped.workers, 2);
  assert.deepEqual(await Promise.all(workers.map((w) => w.exited)), [0, 0, 143], outputs());
  for (const account of result.ledger) assert.deepEqual([account.missing, account.repeated], [0, 0], JSON.stringify(account));
  const diff = compareWithReference(t, 'worker sigterm sgd', { weights: savedWeights(out), losses: stepLosses(out) }, await referenceRun(config));
  assert.ok(...withinTolerance('worker sigterm sgd', diff, 1e-5));
});
