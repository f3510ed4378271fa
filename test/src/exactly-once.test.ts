import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Coordinator, type MembershipEvent } from '@tfjs-ddp/coordinator';
import type { JobConfig } from '@tfjs-ddp/protocol';
import { runLocalJob, WRONG_SHARD_ENV } from '@tfjs-ddp/worker';
import { maxRelativeDifference, referenceRun } from './harness/reference.js';
import { savedWeights, startCli, type RunningProcess } from './harness/processes.js';

/**
 * Issue 14 item 2: exactly once at sample level. Every rank reports a digest of the
 * sample indices it fed its model; the coordinator checks each against the shard it sent
 * and the ledger counts only what ranks reported. A rank made to train a wrong shard (a
 * test fault hook: its first sample twice, in place of the second) is caught with
 * COORD_ERR_SHARD_MISMATCH naming the rank.
 */
const TOLERANCE = 1e-4;
const WORKER_ARGS = ['--threads', '1', '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--backend', 'wasm'];
const dir = mkdtempSync(path.join(tmpdir(), 'exactly-once-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'exactly-once-token\n');
const running: RunningProcess[] = [];
after(() => running.forEach((p) => p.kill()));

test('threads: a rank that trains a wrong shard fails the job with COORD_ERR_SHARD_MISMATCH naming it', { timeout: 120_000 }, async () => {
  const config: JobConfig = { model: 'mlp', dataset: 'synthetic', epochs: 1, globalBatch: 8, optimizer: { name: 'sgd', learningRate: 0.1 }, seed: 5 };
  config.maxSteps = 4;
  const job = runLocalJob({ config, threads: 2, backend: 'wasm', testFaults: { rank: 1, faults: { wrongShardFromStep: 2 } } });
  await assert.rejects(job, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'COORD_ERR_SHARD_MISMATCH', error.message);
    assert.match(error.message, /^rank 1 trained other samples than its shard of step 3: 4 sample\(s\) with digest \d+, its shard has 4 with digest \d+$/);
    return true;
  });
});

const PROCESSES = 'processes, samples streamed by the coordinator: a worker whose rank trains a wrong shard is dropped with COORD_ERR_SHARD_MISMATCH; '
  + 'the step is redone without it, every sample once, equal to one replica';
test(PROCESSES, { timeout: 180_000 }, async () => {
  const config: JobConfig = { model: 'mlp', dataset: 'synthetic', epochs: 1, globalBatch: 8, optimizer: { name: 'sgd', learningRate: 0.1 }, seed: 6 };
  config.maxSteps = 6;
  const out = path.join(dir, 'processes');
  const events: MembershipEvent[] = [];
  const coordinator = await Coordinator.start({ port: 0, host: '127.0.0.1', token: 'exactly-once-token', workers: 2, minWorkers: 1, config, outDir: out,
    // The samples come with the orders here (the threads test above reads them locally): the wrong shard is built from them.
    dataSource: 'coordinator', waitTimeoutMs: 60_000, onMembership: (e) => events.push(e) });
  const worker = (faulty: boolean): RunningProcess => {
    const p = startCli(['worker', '--coordinator', `ws://127.0.0.1:${coordinator.port}`, '--token-file', tokenFile, ...WORKER_ARGS], {
      timeoutMs: 170_000,
      // From the third step (0-based 2) on, this worker's rank trains its first sample twice.
      env: faulty ? { [WRONG_SHARD_ENV]: '2' } : {},
    });
    running.push(p);
    return p;
  };
  const good = worker(false);
  const faulty = worker(true);
  let result;
  try {
    result = await coordinator.run();
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- good ---\n${good.output().slice(-3000)}\n--- faulty ---\n${faulty.output().slice(-3000)}`);
  }
  const lost = events.find((e) => e.kind === 'lost');
  assert.ok(lost !== undefined, `no worker was dropped: ${JSON.stringify(events)}`);
  assert.match(lost.reason ?? '', /COORD_ERR_SHARD_MISMATCH: rank [01] trained other samples than its shard of step 3/);
  assert.equal(await faulty.exited, 1, faulty.output().slice(-2000));
  assert.match(faulty.output(), /COORD_ERR_SHARD_MISMATCH/);
  assert.equal(await good.exited, 0, good.output().slice(-2000));
  assert.equal(result.steps, 6);
  assert.equal(result.generations, 1);
  // What the ranks reported covers every sample of the six batches exactly once.
  for (const account of result.ledger) assert.deepEqual([account.missing, account.repeated], [0, 0], JSON.stringify(account));
  assert.equal(result.ledger.reduce((n, a) => n + a.once, 0), 6 * config.globalBatch);
  // The wrong step was rolled back everywhere and redone: the model is one replica's on the whole batches.
  const reference = await referenceRun(config);
  const diff = maxRelativeDifference(savedWeights(out), reference.weights);
  assert.ok(diff <= TOLERANCE, `weights differ from the one-replica reference by ${diff}`);
});
