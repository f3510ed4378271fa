import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createThreadGroup, type ThreadGroup } from '@tfjs-ddp/collective';
import { syntheticDataset } from '@tfjs-ddp/data';
import { sampleDigest, type JobConfig } from '@tfjs-ddp/protocol';
import { TrainerError } from '@tfjs-ddp/trainer';
import { WorkerError } from './errors.js';
import type { Evaluated, Finished, RankFailed, RankReady, RankInit, RankOrder, RankReport, StepDone, StepOrder } from './rank-messages.js';
import { RankPool } from './rank-pool.js';
import { asWorkerError } from './rank-runner.js';

/**
 * The worker's rank side with real rank threads in a small thread group: orders in, reports
 * out, and the rollback of a regroup.
 */

const RANKS = 2;
const CONFIG: JobConfig = { model: 'cnn-bn-dropout', dataset: 'synthetic', epochs: 1, globalBatch: 16, optimizer: { name: 'adam' }, seed: 4 };
const data = syntheticDataset({ size: 128, inputShape: [8, 8, 1], numClasses: 4, seed: 6 });
const open: { pool: RankPool; groups: ThreadGroup[] }[] = [];

after(async () => {
  for (const { pool, groups } of open) {
    for (const g of groups) g.abort('test over');
    await pool.close();
    for (const g of groups) g.close();
  }
});

/** Rank threads of one process and the reports they sent so far. */
class Ranks {
  readonly reports: RankReport[] = [];
  readonly groups: ThreadGroup[] = [];
  readonly pool: RankPool;
  private waiters: (() => void)[] = [];

  constructor(bnMode: string, checkReplicasEvery = 1) {
    const group = this.newGroup();
    const inits: RankInit[] = Array.from({ length: RANKS }, (_, rank) => ({
      kind: 'init', rank, localRank: rank, worldSize: RANKS, config: CONFIG, bnMode, backend: 'wasm',
      inputShape: [8, 8, 1], numClasses: 4, communicator: group.handle, checkReplicasEvery, generation: 0,
    }));
    this.pool = new RankPool(inits, (report) => {
      this.reports.push(report);
      for (const w of this.waiters.splice(0)) w();
    });
    open.push({ pool: this.pool, groups: this.groups });
  }

  newGroup(): ThreadGroup {
    const group = createThreadGroup({ threads: RANKS, opTimeoutMs: 60_000, arenaBytes: 1 << 20 });
    this.groups.push(group);
    return group;
  }

  /** Waits until `count` reports match `match`; returns them in rank order. */
  async waitFor<T extends RankReport = RankReport>(match: (r: RankReport) => boolean, count = RANKS, timeoutMs = 120_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const failed = this.reports.find((r): r is RankFailed => r.kind === 'failed');
      const found = this.reports.filter(match) as T[];
      if (failed !== undefined && !match(failed)) assert.fail(`a rank failed: ${failed.message}`);
      if (found.length >= count) {
        return found.slice(0, count).sort((a, b) => rankOf(a) - rankOf(b));
      }
      assert.ok(Date.now() < deadline, 'reports did not come in time');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 1000);
      });
    }
  }

  /** Every rank trains its half of the global batch `step` (samples sent with the order). */
  async step(step: number, generation = 0): Promise<StepDone[]> {
    for (let rank = 0; rank < RANKS; rank++) this.pool.send(rank, stepOrder(step, rank, generation));
    return this.waitFor<StepDone>((r) => r.kind === 'stepDone' && r.step === step && r.generation === generation);
  }

  async finish(): Promise<Float32Array[]> {
    this.all({ kind: 'finish', returnModel: false, returnWeights: true });
    const finished = await this.waitFor<Finished>((r) => r.kind === 'finished');
    return finished.map((f) => f.weights as Float32Array);
  }

  /** A new ring (generation `generation`, a new thread group), back to after step `rollbackTo`. */
  regroup(generation: number, rollbackTo: number): void {
    const group = this.newGroup();
    for (let rank = 0; rank < RANKS; rank++) {
      this.pool.send(rank, { kind: 'regroup', generation, communicator: group.handle, rank, worldSize: RANKS, rollbackTo, shareState: false });
    }
  }

  all(order: RankOrder): void {
    for (let rank = 0; rank < RANKS; rank++) this.pool.send(rank, order);
  }
}

function rankOf(report: RankReport): number {
  return report.kind === 'stepDone' ? report.report.rank : report.rank;
}

function stepOrder(step: number, rank: number, generation: number): RankOrder {
  const half = CONFIG.globalBatch / RANKS;
  const from = ((step * CONFIG.globalBatch) % data.size) + rank * half;
  // Rank 1's shard is one sample short: unequal shards.
  const indices = Int32Array.from({ length: half - rank }, (_, i) => from + i);
  return { kind: 'step', generation, step, epoch: 0, indices, globalCount: CONFIG.globalBatch - 1, ...data.batch(indices) };
}

test('rank threads answer orders with reports: ready, steps, evaluation, finish with equal replicas', async () => {
  const ranks = new Ranks('local');
  const ready = await ranks.waitFor<RankReady>((r) => r.kind === 'ready');
  assert.deepEqual(ready.map((r) => r.rank), [0, 1]);
  assert.ok(ready.every((r) => r.parameters > 0 && r.backend.name === 'wasm'));
  for (let s = 0; s < 3; s++) {
    const done = await ranks.step(s);
    assert.deepEqual(done.map((d) => [d.report.rank, d.report.count]), [[0, 8], [1, 7]]);
    assert.ok(done.every((d) => Number.isFinite(d.report.lossSum) && d.report.computeMs >= 0));
    const shards = done.map((d) => stepOrder(s, d.report.rank, 0) as StepOrder);
    assert.deepEqual(done.map((d) => d.report.sampleDigest), shards.map((o) => sampleDigest(o.indices)), 'each rank reports the samples it trained');
  }
  ranks.all({ kind: 'evaluate', generation: 0, epoch: 0 });
  const evaluated = await ranks.waitFor<Evaluated>((r) => r.kind === 'evaluated');
  assert.ok(evaluated.every((e) => e.epoch === 0 && e.evaluation === undefined), 'no test set: nothing to evaluate');
  const [w0, w1] = await ranks.finish();
  // Local BN: moving statistics differed per rank until shared at the evaluation and the finish.
  assert.ok(w0 !== undefined && w0.length > 0);
  assert.deepEqual(w1, w0, 'every replica ends with the same weights, moving statistics included');
});

test('a regroup rolls back to the last step every rank finished; redone, training ends bit-identical to a run without it', async () => {
  const straight = new Ranks('sync');
  for (let s = 0; s < 4; s++) await straight.step(s);
  const [expected] = await straight.finish();

  const ranks = new Ranks('sync');
  for (let s = 0; s < 3; s++) await ranks.step(s);
  // Steps 1 and 2 "were not finished by every rank": a new ring, back to after step 0.
  ranks.regroup(1, 0);
  await ranks.waitFor((r) => r.kind === 'regrouped' && r.generation === 1);
  // A step of the old ring, sent late, is dropped: only generation 1's reports come.
  ranks.pool.send(0, stepOrder(5, 0, 0));
  for (let s = 1; s < 4; s++) await ranks.step(s, 1);
  assert.equal(ranks.reports.filter((r) => r.kind === 'stepDone' && r.step === 5).length, 0);
  const weights = await ranks.finish();
  assert.ok(expected !== undefined);
  assert.deepEqual(weights[0], expected, 'rolled back and redone = never failed');
  assert.deepEqual(weights[1], expected);
});

test('a rollback the replica cannot make is reported as the worker\'s fatal failure, with the worker\'s code', async () => {
  const ranks = new Ranks('sync', 0);
  for (let s = 0; s < 6; s++) await ranks.step(s);
  ranks.regroup(1, 0);
  const [report] = await ranks.waitFor<RankFailed>((r) => r.kind === 'failed', 1);
  assert.ok(report !== undefined);
  assert.equal(report.code, 'WORKER_ERR_RANK_FAILED');
  assert.equal(report.fatal, true);
  assert.match(report.message, /cannot roll back from step 6 to step 1/);
});

test('trainer errors that the coordinator knows by a worker code keep that code', () => {
  const diverged = asWorkerError(new TrainerError('TRAINER_ERR_REPLICAS_DIVERGED', 'after step 3 ...'));
  assert.ok(diverged instanceof WorkerError);
  assert.equal(diverged.code, 'WORKER_ERR_REPLICAS_DIVERGED');
  assert.ok(diverged.cause instanceof TrainerError);
  assert.equal((asWorkerError(new TrainerError('TRAINER_ERR_STEP_ORDER', 'x')) as WorkerError).code, 'WORKER_ERR_PROTOCOL');
  const other = new TrainerError('TRAINER_ERR_NOT_FINITE', 'loss became NaN');
  assert.equal(asWorkerError(other), other, 'others pass unchanged');
});
