import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { modelBytes, startCliJob, type CliJob } from './harness/cli-job.js';
import { paceJob } from './harness/pace-job.js';
import { fuzzSeed, Prng } from './harness/prng.js';
import { runWsFuzz, wsCases } from './harness/ws-fuzz.js';

/**
 * Issue 7, test 5 (coordinator side): bad frames of every kind — mutated frames of the
 * protocol's own types, random bytes, text frames, WebSocket-level violations — sent to
 * the coordinator's port, one connection each (48 at a time, under its limit of 64
 * connections not yet admitted; each upgrade carries the job token, checked before any
 * WebSocket exists), while a real job runs: the CLI coordinator and two CLI workers training a few
 * dozen steps. Every connection must get a refuse/fail frame with a code and a close
 * (or, for bytes that never become a WebSocket message, the WebSocket close code), the
 * job must finish, and its model must be bit-identical to the same job undisturbed.
 *
 * Reproduce a failure with TFJS_DDP_FUZZ_SEED=<the printed seed>.
 */
const SEED = fuzzSeed(0x7f0221);
const CASES = 10_000;
const JOB_ARGS = ['--model', 'mlp', '--dataset', 'synthetic', '--global-batch', '16', '--max-steps', '40', '--seed', '11', '--optimizer', 'adam', '--lr', '0.01'];
const JOB_ID = 'fuzz-job';

const dir = mkdtempSync(path.join(tmpdir(), 'fuzz-coordinator-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'the-right-token\n');
const jobs: CliJob[] = [];
after(() => jobs.forEach((j) => j.kill()));

async function job(name: string, logLevel: 'warn' | 'error'): Promise<CliJob> {
  const j = await startCliJob({ outDir: path.join(dir, name), tokenFile, workers: 2, jobArgs: JOB_ARGS, jobId: JOB_ID, logLevel, timeoutMs: 170_000 });
  jobs.push(j);
  j.startWorker(0);
  j.startWorker(1);
  return j;
}

test(`${CASES} bad frames while a 2-worker job trains: each refused with a code and closed; the model is bit-identical to an undisturbed run`, { timeout: 180_000 }, async () => {
  const started = Date.now();
  // The undisturbed run goes at the same time: the machine's load changes when steps happen, not what they compute.
  const baseline = await job('baseline', 'warn');
  const fuzzed = await job('fuzzed', 'error');
  const cases = wsCases(new Prng(SEED), CASES, { wrongToken: 'a-wrong-token', rightToken: 'the-right-token', otherJobId: 'another-job' });
  let done = 0;
  const pacer = paceJob(fuzzed.port, () => fuzzed.workers[1], () => done / cases.length);
  const tally = await runWsFuzz({ host: '127.0.0.1', port: fuzzed.port, token: 'the-right-token' }, cases, { concurrency: 48, timeoutMs: 20_000, onCase: (n) => (done = n) });
  await pacer.stop();
  const finished = await Promise.allSettled([fuzzed.finished(), baseline.finished()]);
  const answered = Object.values(tally.answered).reduce((a, b) => a + b, 0);
  const wsClosed = Object.values(tally.wsClosed).reduce((a, b) => a + b, 0);
  console.log(
    JSON.stringify({
      fuzz: 'coordinator',
      seed: SEED,
      connections: tally.connections,
      framesSent: tally.frames,
      answered,
      answeredByCode: tally.answered,
      wsLevelClosed: wsClosed,
      wsLevelByCloseCode: tally.wsClosed,
      closes: tally.closes,
      failures: tally.failures.length,
      fuzzMs: tally.durationMs,
      totalMs: Date.now() - started,
      pacer: pacer.stats,
    }),
  );
  const crashed = fuzzed.coordinator.child.exitCode !== null && fuzzed.coordinator.child.exitCode !== 0 ? `\n--- the coordinator exited ${fuzzed.coordinator.child.exitCode} ---\n${fuzzed.coordinator.output().slice(-3000)}` : '';
  assert.deepEqual(tally.failures.slice(0, 10), [], `${tally.failures.length} of ${tally.connections} connections were not answered as they should be (seed ${SEED}; the first in the order they ended)${crashed}`);
  assert.ok(tally.frames >= CASES, `only ${tally.frames} frames sent`);
  assert.equal(answered + wsClosed, tally.connections);
  assert.equal(tally.closes, tally.connections, 'every connection is closed by the coordinator');
  for (const f of finished) if (f.status === 'rejected') throw f.reason;
  const disturbed = modelBytes(path.join(dir, 'fuzzed'));
  const undisturbed = modelBytes(path.join(dir, 'baseline'));
  assert.ok(disturbed.equals(undisturbed), 'the fuzzed job\'s weights differ from the undisturbed run\'s');
});
