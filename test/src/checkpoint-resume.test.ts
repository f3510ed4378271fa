import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { CHECKPOINTS_DIR, listCheckpoints, STATE_BIN } from '@tfjs-ddp/coordinator';
import { freePort, jobState, modelBytes, until, waitForHealth } from './harness/cli-job.js';
import { startCli, type RunningProcess } from './harness/processes.js';

/**
 * Issue 7, tests 2 and 4: the coordinator is killed (SIGKILL) mid-run and started again
 * with --resume; its workers reconnect and the job finishes. Its model must be
 * bit-identical to the same job run without interruption, and to a job resumed from a
 * copy of the same checkpoint: the steps after the checkpoint are redone from its state,
 * none is lost and none applied twice (a step applied twice, or one skipped, changes the
 * weights). A checkpoint with one flipped byte is refused with a message naming the
 * file; --resume-fallback takes the one before it, and that run ends with the same model.
 */
const JOB_ARGS = ['--model', 'cnn-bn', '--dataset', 'synthetic', '--global-batch', '16', '--max-steps', '24', '--seed', '5', '--optimizer', 'adam', '--lr', '0.003', '--checkpoint-every', '4'];
const dir = mkdtempSync(path.join(tmpdir(), 'checkpoint-resume-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'resume-token\n');
const running: RunningProcess[] = [];
after(() => running.forEach((p) => p.kill()));

function coordinator(port: number, out: string, extra: string[] = []): RunningProcess {
  const p = startCli(['coordinator', '--port', String(port), '--host', '127.0.0.1', '--workers', '2', '--token-file', tokenFile, '--job-id', 'resume-job', '--out', out, '--no-progress', '--log-level', 'info',
    // Workers paused below (SIGSTOP) are slow, not lost.
    '--heartbeat-timeout', '600', ...JOB_ARGS, ...extra], { timeoutMs: 170_000 });
  running.push(p);
  return p;
}

function worker(port: number): RunningProcess {
  const p = startCli(['worker', '--coordinator', `ws://127.0.0.1:${port}`, '--token-file', tokenFile, '--job-id', 'resume-job', '--threads', '1', '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--backend', 'wasm', '--log-level', 'info', '--connect-timeout', '60'], { timeoutMs: 170_000 });
  running.push(p);
  return p;
}

/** Runs a whole job (coordinator + 2 workers) and returns its model's bytes. */
async function wholeJob(out: string, extra: string[] = []): Promise<Buffer> {
  const port = await freePort();
  const c = coordinator(port, out, extra);
  const ws = [worker(port), worker(port)];
  const codes = await Promise.all([c, ...ws].map((p) => p.exited));
  assert.deepEqual(codes, [0, 0, 0], [c, ...ws].map((p) => p.output().slice(-3000)).join('\n---\n'));
  return modelBytes(out);
}

const KILLED_RUN = path.join(dir, 'killed');

test('the coordinator killed mid-run and restarted with --resume: workers reconnect; the model equals the uninterrupted run\'s bit for bit', { timeout: 170_000 }, async () => {
  const uninterrupted = wholeJob(path.join(dir, 'uninterrupted'));
  const port = await freePort();
  // --resume on a run folder with no checkpoint yet starts at step 1 (a supervisor passes it on every start).
  const first = coordinator(port, KILLED_RUN, ['--resume', KILLED_RUN]);
  const workers = [worker(port), worker(port)];
  // Hold the job at step 10 (one worker paused) so the kill lands mid-run, after the checkpoint of step 8.
  await until('the job reached step 10', async () => {
    const s = await jobState(port);
    if (s.step >= 10) workers[1]?.child.kill('SIGSTOP');
    return s.step >= 10;
  }, 90_000);
  await until('the checkpoint after step 8', async () => (await listCheckpoints(KILLED_RUN)).some((c) => c.step === 8 && c.complete), 30_000);
  first.kill('SIGKILL');
  await first.exited;
  workers[1]?.child.kill('SIGCONT');
  const resumedFrom = (await listCheckpoints(KILLED_RUN)).filter((c) => c.complete).map((c) => c.step).sort((a, b) => b - a)[0] ?? -1;
  assert.ok(resumedFrom >= 8 && resumedFrom < 24, `newest checkpoint: step ${resumedFrom}`);
  // The same checkpoint, resumed by a fresh job: the reference for "nothing lost, nothing twice".
  const copy = path.join(dir, 'copy');
  mkdirSync(path.join(copy, CHECKPOINTS_DIR), { recursive: true });
  const folder = `step-${String(resumedFrom).padStart(6, '0')}`;
  cpSync(path.join(KILLED_RUN, CHECKPOINTS_DIR, folder), path.join(copy, CHECKPOINTS_DIR, folder), { recursive: true });
  const fromCopy = wholeJob(copy, ['--resume', copy]);

  const second = coordinator(port, KILLED_RUN, ['--resume', KILLED_RUN]);
  await waitForHealth(port);
  const codes = await Promise.all([second, ...workers].map((p) => p.exited));
  const outputs = [first, second, ...workers].map((p) => p.output().slice(-3000)).join('\n---\n');
  assert.deepEqual(codes, [0, 0, 0], outputs);
  assert.match(second.output(), new RegExp(`resuming from .*${folder}: ${resumedFrom} step\\(s\\) already trained`));
  for (const w of workers) assert.match(w.output(), /reconnecting/, 'each worker reconnected to the restarted coordinator');
  const resumed = modelBytes(KILLED_RUN);
  assert.ok(resumed.equals(await fromCopy), 'the resumed run differs from a run resumed from a copy of the same checkpoint');
  assert.ok(resumed.equals(await uninterrupted), 'the resumed run differs from the uninterrupted run');
  // metrics.jsonl goes on: the records of both coordinators, every step at least once.
  const steps = new Set(readFileSync(path.join(KILLED_RUN, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; step?: number }).filter((r) => r.kind === 'step').map((r) => r.step));
  for (let s = 1; s <= 24; s++) assert.ok(steps.has(s), `metrics.jsonl has no record of step ${s}`);
});

test('a checkpoint with a flipped byte is refused naming the file; --resume-fallback resumes the one before and ends with the same model', { timeout: 170_000 }, async () => {
  const entries = (await listCheckpoints(KILLED_RUN)).filter((c) => c.complete).sort((a, b) => b.step - a.step);
  assert.ok(entries.length >= 2, `checkpoints of the first test: ${JSON.stringify(entries)}`);
  const run = path.join(dir, 'corrupt');
  mkdirSync(path.join(run, CHECKPOINTS_DIR), { recursive: true });
  // The two checkpoints before the end (the last one, of step 24, would leave nothing to train).
  const [newer, older] = entries.filter((e) => e.step < 24);
  assert.ok(newer !== undefined && older !== undefined, JSON.stringify(entries));
  for (const e of [newer, older]) cpSync(e.dir, path.join(run, CHECKPOINTS_DIR, path.basename(e.dir)), { recursive: true });
  const state = path.join(run, CHECKPOINTS_DIR, path.basename(newer.dir), STATE_BIN);
  const bytes = readFileSync(state);
  bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] as number) ^ 0x10;
  writeFileSync(state, bytes);

  const refused = coordinator(await freePort(), run, ['--resume', run]);
  assert.equal(await refused.exited, 1, refused.output());
  assert.match(refused.output(), new RegExp(`${path.basename(newer.dir)}.*${STATE_BIN} failed its checksum.*--resume-fallback.*\\[CHECKPOINT_ERR_CORRUPT\\]`));

  const model = await wholeJob(run, ['--resume', run, '--resume-fallback']);
  assert.ok(model.equals(modelBytes(path.join(dir, 'uninterrupted'))), 'the run resumed from the older checkpoint differs from the uninterrupted run');
});
