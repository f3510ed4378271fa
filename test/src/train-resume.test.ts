import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { listCheckpoints, STATE_BIN } from '@tfjs-ddp/coordinator';
import { startCli, type RunningProcess } from './harness/processes.js';

/**
 * Issue 17: `tfjs-ddp train --checkpoint-every 4` (two rank threads in one process) is
 * killed with SIGKILL at a step chosen by a seed (printed), then `train --resume` with
 * the same flags finishes the run. Its weights.bin must equal an uninterrupted run's byte
 * for byte: the steps after the checkpoint are redone from its state (weights and the
 * optimizer's slots), none lost and none applied twice. Checkpoints are the coordinator's
 * folders, and resume refuses another job's checkpoint and a corrupt one the same way.
 */
const MAX_STEPS = 40;
const jobArgs = (optimizer: string[]): string[] => [
  '--model', 'cnn-bn', '--dataset', 'synthetic', '--global-batch', '32', '--max-steps', String(MAX_STEPS), '--seed', '5',
  ...optimizer, '--checkpoint-every', '4', '--threads', '2', '--backend', 'wasm', '--no-progress', '--log-level', 'info',
];
const dir = mkdtempSync(path.join(tmpdir(), 'train-resume-'));
const running: RunningProcess[] = [];
after(() => running.forEach((p) => p.kill()));

function train(out: string, args: string[]): RunningProcess {
  const p = startCli(['train', '--out', out, ...args], { timeoutMs: 120_000 });
  running.push(p);
  return p;
}

async function succeeds(p: RunningProcess): Promise<void> {
  assert.equal(await p.exited, 0, p.output().slice(-3000));
}

/** The highest step metrics.jsonl records so far (0: none). */
function stepsRecorded(out: string): number {
  const file = path.join(out, 'metrics.jsonl');
  if (!existsSync(file)) return 0;
  // Only whole lines: the run may be writing the last one as this reads (seen once in CI: a JSON.parse of half a line).
  const lines = readFileSync(file, 'utf8').split('\n').slice(0, -1);
  const steps = lines.filter((l) => l.includes('"kind":"step"')).map((l) => (JSON.parse(l) as { step: number }).step);
  return Math.max(0, ...steps);
}

/**
 * SIGKILL as soon as metrics.jsonl shows step `target` and a checkpoint is complete (the
 * first one's write may still be under way at step 5): the kill lands within a step or two
 * of the target, maybe in the middle of writing a later checkpoint.
 */
async function killAtStep(p: RunningProcess, out: string, target: number): Promise<void> {
  for (;;) {
    if (p.exitedAt() !== undefined) throw new Error(`train ended before step ${target}:\n${p.output().slice(-3000)}`);
    // A folder retired (--keep-checkpoints) between the listing and its stat: not yet, look again.
    if (stepsRecorded(out) >= target && (await listCheckpoints(out).catch(() => [])).some((c) => c.complete)) break;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  p.kill('SIGKILL');
  assert.equal(await p.exited, null, 'killed by the signal, not finished');
}

for (const [name, optimizer] of [['sgd', ['--optimizer', 'sgd', '--lr', '0.05']], ['adam', ['--optimizer', 'adam', '--lr', '0.003']]] as const) {
  test(`train (${name}) killed mid-run, then train --resume: weights.bin equals the uninterrupted run's byte for byte`, { timeout: 120_000 }, async () => {
    const args = jobArgs([...optimizer]);
    const seed = Date.now() % 100_000;
    // Step 5..28: past the first checkpoint, with steps left after the newest one.
    const target = 5 + (seed % 24);
    console.log(JSON.stringify({ optimizer: name, killSeed: seed, killAtStep: target }));
    const uninterruptedOut = path.join(dir, `${name}-uninterrupted`);
    await succeeds(train(uninterruptedOut, args));

    const out = path.join(dir, `${name}-killed`);
    // --resume on a folder with no checkpoint yet starts at step 1, as the coordinator does.
    const first = train(out, [...args, '--resume', out]);
    await killAtStep(first, out, target);
    assert.match(first.output(), /no checkpoint under .*: the job starts at step 1/);
    assert.ok(!existsSync(path.join(out, 'weights.bin')), 'the killed run saved no model');
    const newest = (await listCheckpoints(out)).filter((c) => c.complete)[0];
    assert.ok(newest !== undefined && newest.step >= 4 && newest.step < MAX_STEPS, `newest checkpoint: ${JSON.stringify(newest)}`);
    console.log(JSON.stringify({ optimizer: name, killedAfterStep: stepsRecorded(out), resumedFrom: newest.step }));

    const second = train(out, [...args, '--resume', out]);
    await succeeds(second);
    const folder = path.basename(newest.dir);
    assert.match(second.output(), new RegExp(`resuming from .*${folder}: ${newest.step} step\\(s\\) already trained`));
    const resumed = readFileSync(path.join(out, 'weights.bin'));
    assert.ok(resumed.equals(readFileSync(path.join(uninterruptedOut, 'weights.bin'))), 'the resumed run differs from the uninterrupted run');
  });
}

test("train --resume refuses another job's checkpoint and a corrupt one, naming them", { timeout: 60_000 }, async () => {
  const source = path.join(dir, 'sgd-killed');
  const newest = (await listCheckpoints(source)).filter((c) => c.complete)[0];
  assert.ok(newest !== undefined, 'the checkpoints of the sgd test');
  const other = train(path.join(dir, 'other'), [...jobArgs(['--optimizer', 'sgd', '--lr', '0.05']), '--seed', '6', '--resume', source]);
  assert.equal(await other.exited, 1, other.output());
  assert.match(other.output(), /is of another job \(seed is 5 there, 6 here\)/);

  const corrupt = path.join(dir, 'corrupt');
  cpSync(newest.dir, path.join(corrupt, 'checkpoints', path.basename(newest.dir)), { recursive: true });
  const state = path.join(corrupt, 'checkpoints', path.basename(newest.dir), STATE_BIN);
  const bytes = readFileSync(state);
  bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] as number) ^ 0x10;
  writeFileSync(state, bytes);
  const refused = train(corrupt, [...jobArgs(['--optimizer', 'sgd', '--lr', '0.05']), '--resume', corrupt]);
  assert.equal(await refused.exited, 1, refused.output());
  assert.match(refused.output(), new RegExp(`${path.basename(newest.dir)}.*${STATE_BIN} failed its checksum.*--resume-fallback.*\\[CHECKPOINT_ERR_CORRUPT\\]`));
});

test('train stopped by SIGTERM finishes the steps in flight, checkpoints the last committed step, exits 143; --resume ends byte-identical', { timeout: 120_000 }, async () => {
  // Checkpoints only at epoch ends (64 steps here, beyond --max-steps): the one written can only be the SIGTERM's.
  const args = [...jobArgs(['--optimizer', 'sgd', '--lr', '0.05']), '--checkpoint-every', '0'];
  const seed = Date.now() % 100_000;
  const target = 3 + (seed % 30);
  const out = path.join(dir, 'sgd-sigterm');
  const first = train(out, args);
  while (stepsRecorded(out) < target) {
    if (first.exitedAt() !== undefined) throw new Error(`train ended before step ${target}:\n${first.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  first.kill('SIGTERM');
  assert.equal(await first.exited, 143, first.output().slice(-3000));
  const stopped = /stopped: checkpoint of step (\d+) written/.exec(first.output());
  console.log(JSON.stringify({ sigtermSeed: seed, sigtermAtStep: target, checkpointStep: stopped?.[1] }));
  assert.ok(stopped !== null, first.output().slice(-3000));
  const checkpointed = Number(stopped[1]);
  assert.ok(checkpointed >= target && checkpointed < MAX_STEPS, `checkpoint of step ${checkpointed} for a SIGTERM at step ${target}`);
  assert.equal(stepsRecorded(out), checkpointed, 'the checkpoint holds the last committed step');
  assert.deepEqual((await listCheckpoints(out)).map((c) => [c.step, c.complete]), [[checkpointed, true]]);

  const second = train(out, [...args, '--resume', out]);
  await succeeds(second);
  const resumed = readFileSync(path.join(out, 'weights.bin'));
  assert.ok(resumed.equals(readFileSync(path.join(dir, 'sgd-uninterrupted', 'weights.bin'))), 'the resumed run differs from the uninterrupted run');

  // A SIGTERM once train runs but before the ranks are ready: nothing to checkpoint, the same exit code, at once.
  const early = train(path.join(dir, 'sigterm-early'), args);
  while (!/training cnn-bn on synthetic/.test(early.output())) {
    if (early.exitedAt() !== undefined) throw new Error(`train ended early:\n${early.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  early.kill('SIGTERM');
  assert.equal(await early.exited, 143, early.output().slice(-3000));
  assert.match(early.output(), /stopped: no checkpoint was written/);
});
