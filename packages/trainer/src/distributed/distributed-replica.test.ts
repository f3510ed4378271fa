import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '@tfjs-ddp/backend';
import { syntheticDataset } from '@tfjs-ddp/data';
import { parseBnMode, syncBatchNormLayers, type BatchNormGroup } from '@tfjs-ddp/nn';
import type { Shard } from '../replica.js';
import type { TrainConfig } from '../train-config.js';
import { DistributedReplica, SNAPSHOTS_KEPT } from './distributed-replica.js';
import type { ReplicaCommunicator } from './replica-communicator.js';
import { weightsChecksum } from './weights-checksum.js';

before(async () => {
  await initBackend('wasm');
});

const CONFIG: TrainConfig = { model: 'cnn-bn-dropout', dataset: 'synthetic', epochs: 1, globalBatch: 16, optimizer: { name: 'adam' }, seed: 3 };
const data = syntheticDataset({ size: 64, inputShape: [8, 8, 1], numClasses: 4, seed: 5 });

function shard(from: number, to: number): Shard {
  const indices = Int32Array.from({ length: to - from }, (_, i) => from + i);
  return { ...data.batch(indices), indices };
}

/**
 * A communicator of rank `rank` in a group of `size` whose other members are simulated:
 * `peers` says what they contribute. Broadcasts from rank 0 keep this rank's buffer (it is
 * rank 0, or its state is already rank 0's).
 */
class FakeGroup implements ReplicaCommunicator {
  /** Called for every all-reduce: may change `buf` as the other members' contributions would. */
  onAllReduce: (buf: Float32Array, op: string) => void = () => undefined;
  /** What member r (r !== rank) contributes to an all-gather; this rank's own input by default. */
  peerGather: (r: number, input: Float32Array) => Float32Array = (_r, input) => input;
  readonly allReduces: { length: number; op: string }[] = [];

  constructor(
    readonly rank = 0,
    readonly size = 1,
  ) {}

  allReduce(buf: Float32Array, op = 'sum'): void {
    this.allReduces.push({ length: buf.length, op });
    this.onAllReduce(buf, op);
  }

  broadcast(): void {}

  allGather(input: Float32Array, output: Float32Array): void {
    for (let r = 0; r < this.size; r++) output.set(r === this.rank ? input : this.peerGather(r, input), r * input.length);
  }

  split(): BatchNormGroup {
    return this;
  }

  allocShared(length: number): Float32Array {
    return new Float32Array(length);
  }
}

function create(communicator: ReplicaCommunicator, bnMode: string, checkReplicasEvery = 0): Promise<DistributedReplica> {
  const { rank, size: worldSize } = communicator;
  return DistributedReplica.create({
    config: CONFIG, bnMode: parseBnMode(bnMode), communicator, rank, worldSize, inputShape: [8, 8, 1], numClasses: 4, checkReplicasEvery,
  });
}

test('a rollback restores, bit for bit, the state before the first step not applied everywhere', async () => {
  const replica = await create(new FakeGroup(), 'sync');
  const before: Float32Array[] = [];
  for (let s = 0; s < 3; s++) {
    before.push(replica.replica.readState());
    await replica.step(shard(s * 8, s * 8 + 8), s, 8);
  }
  assert.equal(replica.lastApplied, 2);
  assert.notDeepEqual(replica.replica.readState(), before[1], 'training changed the state');
  replica.rollBack(0);
  assert.deepEqual(replica.replica.readState(), before[1], 'the state after step 0 again');
  assert.equal(replica.lastApplied, 0);
  assert.deepEqual(replica.snapshotSteps, [], 'a rollback starts a new history');
  replica.replica.dispose();
});

test(`a rollback further back than the last ${SNAPSHOTS_KEPT} steps is refused with a code`, async () => {
  const replica = await create(new FakeGroup(), 'sync');
  for (let s = 0; s < SNAPSHOTS_KEPT + 2; s++) await replica.step(shard(0, 8), s, 8);
  assert.deepEqual(replica.snapshotSteps, [2, 3, 4, 5]);
  assert.throws(() => replica.rollBack(0), { code: 'TRAINER_ERR_ROLLBACK', message: /cannot roll back from step 6 to step 1/ });
  replica.rollBack(1);
  replica.replica.dispose();
});

test('a step whose all-reduce fails leaves the state (BN moving statistics included) as it was', async () => {
  const group = new FakeGroup();
  const replica = await create(group, 'local');
  await replica.step(shard(0, 8), 0, 8);
  const state = replica.replica.readState();
  group.onAllReduce = () => {
    throw Object.assign(new Error('peer lost'), { code: 'COLL_ERR_PEER_LOST' });
  };
  await assert.rejects(replica.step(shard(8, 16), 1, 8), { code: 'COLL_ERR_PEER_LOST' });
  assert.deepEqual(replica.replica.readState(), state);
  assert.equal(replica.lastApplied, 0);
  replica.replica.dispose();
});

test('sharing moving statistics writes back the mean of every rank\'s, for every BN layer', async () => {
  // Two ranks' replicas in one thread: rank 1 trains other samples, so its statistics differ.
  const [a, b] = [new FakeGroup(0, 2), new FakeGroup(1, 2)];
  const ranks = [await create(a, 'local'), await create(b, 'local')] as const;
  await ranks[0].step(shard(0, 16), 0, 32);
  await ranks[1].step(shard(16, 32), 0, 32);
  const statistics = (r: DistributedReplica): Float32Array[] =>
    syncBatchNormLayers(r.replica.model).flatMap((l) => l.weights.slice(-2).map((w) => Float32Array.from(w.read().dataSync())));
  const [mine, theirs] = [statistics(ranks[0]), statistics(ranks[1])];
  assert.ok(mine.length >= 4, 'the model has BN layers');
  assert.notDeepEqual(mine, theirs);
  // Rank 1's all-reduce inputs, in call order: what rank 0's all-reduce averages with.
  const peerBuffers: Float32Array[] = [];
  b.onAllReduce = (buf) => peerBuffers.push(Float32Array.from(buf));
  await ranks[1].shareMovingStatistics();
  a.onAllReduce = (buf, op) => {
    assert.equal(op, 'mean');
    const peer = peerBuffers.shift() as Float32Array;
    buf.forEach((v, i) => (buf[i] = (v + (peer[i] as number)) / 2));
  };
  const trainable = ranks[0].replica.readState().slice(0, 10);
  await ranks[0].shareMovingStatistics();
  const expected = mine.map((m, i) => Float32Array.from(m, (v, j) => (v + ((theirs[i] as Float32Array)[j] as number)) / 2));
  assert.deepEqual(statistics(ranks[0]), expected, 'the mean, computed directly');
  assert.deepEqual(ranks[0].replica.readState().slice(0, 10), trainable, 'only moving statistics change');
  assert.equal(peerBuffers.length, 0, 'one all-reduce per BN layer on each rank');
  for (const r of ranks) r.replica.dispose();
});

test('in sync mode (or alone) moving statistics are not shared: they are equal already', async () => {
  const group = new FakeGroup(0, 2);
  const replica = await create(group, 'sync');
  await replica.shareMovingStatistics();
  assert.deepEqual(group.allReduces, []);
  replica.replica.dispose();
});

test('a replica check names the ranks whose weights differ from rank 0\'s', async () => {
  const group = new FakeGroup(0, 3);
  const replica = await create(group, 'sync', 2);
  await replica.step(shard(0, 8), 0, 24);
  // Steps 1, 3, ...: checked. Every rank agrees: no error.
  await replica.step(shard(0, 8), 1, 24);
  // Planted fault: rank 2's weights are off by one value.
  group.peerGather = (r, input) => (r === 2 ? weightsChecksum(Float32Array.of(1, 2, 3)) : input);
  await replica.step(shard(0, 8), 2, 24);
  await assert.rejects(replica.step(shard(0, 8), 3, 24), { code: 'TRAINER_ERR_REPLICAS_DIVERGED', message: /after step 4 the weights of rank\(s\) 2 differ/ });
  await assert.rejects(replica.checkReplicas(9), { message: /rank\(s\) 2 differ/ });
  replica.replica.dispose();
});

/** One rank (sync BN) holding the training set, recalibrating over 48 samples at `when`. */
function recalibrating(group: FakeGroup, when: 'epoch' | 'end'): Promise<DistributedReplica> {
  return DistributedReplica.create({
    config: { ...CONFIG, bnRecalibrate: when, bnRecalibrateSamples: 48 }, bnMode: parseBnMode('sync'), communicator: group, rank: 0, worldSize: 1,
    inputShape: [8, 8, 1], numClasses: 4, checkReplicasEvery: 0, train: data,
  });
}

test('BN statistics recalibrated after the last step are not recomputed by a checkpoint or the end; after a step or a regroup they are', async () => {
  const group = new FakeGroup();
  const replica = await recalibrating(group, 'epoch');
  await replica.step(shard(0, 8), 0, 8);
  const passes = (): number => group.allReduces.length;
  const evaluated = await replica.evaluate(data);
  assert.equal(evaluated?.bnRecalibration?.samples, 48, 'the epoch evaluation recalibrates');
  const recalibrated = replica.replica.readState();
  let before = passes();
  await replica.checkpoint(0);
  assert.equal(passes(), before, 'a checkpoint after the same step runs no recalibration again');
  assert.deepEqual(replica.replica.readState(), recalibrated);
  await replica.step(shard(8, 16), 1, 8);
  before = passes();
  await replica.checkpoint(1);
  assert.ok(passes() > before, 'after a step the statistics are recomputed');
  // A regroup (no rollback needed) where a rank joins: it knows of no recalibration, so every rank recalibrates at the end.
  replica.rollBack(1);
  await replica.joinRing({ communicator: group, rank: 0, worldSize: 1 }, true);
  before = passes();
  const finished = await replica.finish({ test: data, returnModel: false, returnWeights: false });
  assert.ok(passes() > before && finished.evaluation?.bnRecalibration?.samples === 48, 'after a regroup the end recalibrates');
});

test('a recalibration cut off by a failing all-reduce leaves the BN statistics as they were', async () => {
  const group = new FakeGroup();
  const replica = await recalibrating(group, 'end');
  await replica.step(shard(0, 8), 0, 8);
  const before = replica.replica.readState();
  // The first BN layer's statistics are merged and written; the second layer's all-reduce fails.
  let reduces = 0;
  group.onAllReduce = () => {
    if (++reduces === 2) throw Object.assign(new Error('peer lost'), { code: 'COLL_ERR_PEER_LOST' });
  };
  await assert.rejects(replica.finish({ returnModel: false, returnWeights: false }), /peer lost/);
  assert.equal(reduces, 2, 'the pass got as far as the second layer');
  assert.deepEqual(replica.replica.readState(), before, 'the first layer\'s new statistics were undone');
});
