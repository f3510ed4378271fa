import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { PendingCollective } from '@tfjs-ddp/collective';
import { initBackend } from '@tfjs-ddp/backend';
import { syntheticDataset } from '@tfjs-ddp/data';
import { parseBnMode, type BatchNormGroup } from '@tfjs-ddp/nn';
import type { Shard } from '../replica.js';
import type { TrainConfig } from '../train-config.js';
import { DistributedReplica } from './distributed-replica.js';
import { BucketedAllReduce, planBuckets } from './gradient-buckets.js';
import type { ReplicaCommunicator } from './replica-communicator.js';

before(async () => {
  await initBackend('wasm');
});

const data = syntheticDataset({ size: 64, inputShape: [8, 8, 1], numClasses: 4, seed: 5 });

function shard(from: number, to: number): Shard {
  const indices = Int32Array.from({ length: to - from }, (_, i) => from + i);
  return { ...data.batch(indices), indices };
}

/** Whether tfjs is running a backward pass now (`engine.gradients` runs it in a scope named 'backward'). */
function inBackward(): boolean {
  const state = (tf.engine() as unknown as { state: { scopeStack: { name: string }[] } }).state;
  return state.scopeStack.some((s) => s.name === 'backward');
}

/** What the fake saw, in call order: blocking collectives and started all-reduces. */
interface Call {
  kind: 'allReduce' | 'allGather' | 'start';
  length: number;
  /** Started all-reduces: whether backward was still running when it started. */
  duringBackward?: boolean;
}

/**
 * Rank 0 of a group of `size` whose other members are identical to it (every shard the
 * same, so every sum is `size` times this rank's, and the replicas stay equal). With
 * `overlap`, it also has the started all-reduce of a thread group over several
 * processes: it reduces when waited for, and fails the test if the buffer changed between
 * the start and the wait (the trainer wrote into a bucket in flight).
 */
class IdenticalPeers implements ReplicaCommunicator {
  readonly rank = 0;
  readonly calls: Call[] = [];
  /** Called as an all-reduce is started (it may throw, as a failed group does). */
  onStart: () => void = () => undefined;
  /** Called as a started all-reduce is waited for (it may throw: a peer died mid-bucket). */
  onWait: () => void = () => undefined;
  overlapsAllReduce?: (buf: Float32Array) => boolean;
  allReduceStart?: (buf: Float32Array, op?: 'sum' | 'mean' | 'max') => PendingCollective;

  constructor(
    readonly size: number,
    overlap: boolean,
  ) {
    if (!overlap) return;
    this.overlapsAllReduce = () => true;
    this.allReduceStart = (buf, op = 'sum') => {
      this.onStart();
      this.calls.push({ kind: 'start', length: buf.length, duringBackward: inBackward() });
      const sent = Float32Array.from(buf);
      let done = false;
      return {
        test: () => done,
        wait: () => {
          if (done) return;
          this.onWait();
          assert.deepEqual(buf, sent, 'a bucket changed while its all-reduce was in flight');
          this.reduce(buf, op);
          done = true;
        },
      };
    };
  }

  allReduce(buf: Float32Array, op: 'sum' | 'mean' | 'max' = 'sum'): void {
    this.calls.push({ kind: 'allReduce', length: buf.length });
    this.reduce(buf, op);
  }

  private reduce(buf: Float32Array, op: string): void {
    if (op === 'sum') for (let i = 0; i < buf.length; i++) buf[i] = (buf[i] as number) * this.size;
  }

  broadcast(): void {}

  allGather(input: Float32Array, output: Float32Array): void {
    this.calls.push({ kind: 'allGather', length: input.length });
    for (let r = 0; r < this.size; r++) output.set(input, r * input.length);
  }

  split(): BatchNormGroup {
    return this;
  }

  allocShared(length: number): Float32Array {
    return new Float32Array(length);
  }
}

function config(model: string, optimizer: 'sgd' | 'adam'): TrainConfig {
  return { model, dataset: 'synthetic', epochs: 1, globalBatch: 16, optimizer: { name: optimizer }, seed: 3 };
}

function create(group: IdenticalPeers, model = 'cnn-bn', optimizer: 'sgd' | 'adam' = 'adam', bucketBytes?: number): Promise<DistributedReplica> {
  return DistributedReplica.create({
    config: config(model, optimizer), bnMode: parseBnMode('sync'), communicator: group, rank: 0, worldSize: group.size,
    inputShape: [8, 8, 1], numClasses: 4, checkReplicasEvery: 0, ...(bucketBytes === undefined ? {} : { bucketBytes }),
  });
}

test('planBuckets: whole variables from the end, each at least the size but the first', () => {
  assert.deepEqual(planBuckets([3, 5, 2, 8], 4 * 6), [
    { start: 10, end: 18, firstVariable: 3, endVariable: 4 },
    { start: 3, end: 10, firstVariable: 1, endVariable: 3 },
    { start: 0, end: 3, firstVariable: 0, endVariable: 1 },
  ]);
  assert.deepEqual(planBuckets([3, 5], 1 << 20), [{ start: 0, end: 8, firstVariable: 0, endVariable: 2 }]);
  assert.equal(planBuckets([1, 1, 1], 4).length, 3);
});

for (const model of ['cnn-bn', 'cnn-bn-dropout', 'mlp', 'resnet']) {
  for (const optimizer of ['sgd', 'adam'] as const) {
    test(`${model} (${optimizer}), 2 ranks: the overlapped all-reduce trains bit for bit as the blocking one, empty shards included`, async () => {
      const blocking = await create(new IdenticalPeers(2, false), model, optimizer);
      const group = new IdenticalPeers(2, true);
      const overlapped = await create(group, model, optimizer, 4096);
      assert.equal(blocking.gradientBuckets, 0);
      assert.ok(overlapped.gradientBuckets >= 2, `${overlapped.gradientBuckets} buckets`);
      const shards = [shard(0, 8), shard(8, 16), shard(16, 16), shard(16, 24)];
      for (const [s, sh] of shards.entries()) {
        const a = await blocking.step(sh, s, 16);
        const b = await overlapped.step(sh, s, 16);
        assert.equal(b.lossSum, a.lossSum);
        assert.deepEqual(b.grads, a.grads, `step ${s}: summed gradients`);
        assert.deepEqual(overlapped.replica.readState(), blocking.replica.readState(), `step ${s}: state`);
        assert.ok(b.overlap !== undefined && b.overlap.startedAfter.length === overlapped.gradientBuckets);
      }
      blocking.replica.dispose();
      overlapped.replica.dispose();
    });
  }
}

/**
 * Whether the step overlapped: the first bucket's all-reduce started while backward ran,
 * before its last gradient was captured.
 */
function overlapped(calls: Call[], report: { startedAfter: readonly number[]; captured: number }): boolean {
  const starts = calls.filter((c) => c.kind === 'start');
  return starts[0]?.duringBackward === true && (report.startedAfter[0] as number) < report.captured;
}

test('the buckets start during backward, before its last gradient is captured; a planted fault (all at the end) is caught', async () => {
  for (const fault of [false, true]) {
    const group = new IdenticalPeers(2, true);
    const replica = await create(group, 'cnn-bn', 'adam', 4096);
    if (fault) {
      // Planted: the same buckets, all started only when backward is over.
      const self = replica as unknown as { overlap: BucketedAllReduce; gradients: Float32Array };
      const sizes = replica.replica.trainableVariables.map((v) => v.size);
      self.overlap = new BucketedAllReduce(planBuckets(sizes, 4096), self.gradients, { allReduceStart: group.allReduceStart!.bind(group) }, true, true);
    }
    group.calls.length = 0;
    const done = await replica.step(shard(0, 8), 0, 16);
    const report = done.overlap;
    assert.ok(report !== undefined);
    const starts = group.calls.filter((c) => c.kind === 'start');
    console.log(
      `# ${fault ? 'planted fault' : 'overlapped'}: ${report.buckets} buckets started after ${report.startedAfter.join(', ')} of ${report.captured} gradients; ` +
        `during backward: ${starts.map((c) => c.duringBackward).join(', ')}`,
    );
    assert.equal(overlapped(group.calls, report), !fault, fault ? 'the check must catch the fault' : 'the buckets must start during backward');
    replica.replica.dispose();
  }
});

test('with collectives in backward, a completed bucket waits for the next event: SyncBN\'s collective goes first, then the bucket', async () => {
  const group = new IdenticalPeers(2, true);
  const replica = await create(group, 'cnn-bn', 'sgd', 4096);
  const dense = replica.replica.trainableVariables.slice(-4).reduce((n, v) => n + v.size, 0);
  group.calls.length = 0;
  await replica.step(shard(0, 8), 0, 16);
  const backward = group.calls.slice(group.calls.findIndex((c) => c.kind === 'start') - 1);
  // cnn-bn: the dense layers' bucket is complete before BN2's backward all-reduce (2 x 32 floats), and starts right after it.
  assert.deepEqual(backward.slice(0, 2).map((c) => [c.kind, c.length]), [['allReduce', 64], ['start', dense]]);
  // Without collectives in backward (one rank): at once, no event to wait for.
  const alone = new IdenticalPeers(1, true);
  const single = await create(alone, 'cnn-bn', 'sgd', 4096);
  alone.calls.length = 0;
  await single.step(shard(0, 8), 0, 8);
  const first = alone.calls.findIndex((c) => c.kind === 'start');
  assert.equal(alone.calls[first - 1]?.kind, 'allGather', 'started before BN2\'s backward all-reduce');
  replica.replica.dispose();
  single.replica.dispose();
});

test('every rank makes the same calls in the same order, whatever its shard (an empty one too)', async () => {
  for (const model of ['cnn-bn-dropout', 'resnet']) {
    const sequences: string[] = [];
    for (const sh of [shard(0, 8), shard(8, 9), shard(9, 9)]) {
      const group = new IdenticalPeers(2, true);
      const replica = await create(group, model, 'sgd', 1024);
      group.calls.length = 0;
      await replica.step(sh, 0, 16);
      sequences.push(group.calls.map((c) => `${c.kind}:${c.length}`).join(' '));
      replica.replica.dispose();
    }
    assert.equal(sequences[1], sequences[0], `${model}: a shard of 1 sample`);
    assert.equal(sequences[2], sequences[0], `${model}: an empty shard`);
  }
});

test('a step whose started all-reduce fails (to start, or in the wait after backward) leaves the state as it was; the next step starts afresh', async () => {
  const group = new IdenticalPeers(2, true);
  const replica = await create(group, 'cnn-bn', 'adam', 4096);
  await replica.step(shard(0, 8), 0, 16);
  const state = replica.replica.readState();
  let starts = 0;
  // The second bucket fails to start: the first is in flight, backward is half-way.
  group.onStart = () => {
    if (++starts === 2) throw Object.assign(new Error('peer lost'), { code: 'COLL_ERR_PEER_LOST' });
  };
  await assert.rejects(replica.step(shard(8, 16), 1, 16), { code: 'COLL_ERR_PEER_LOST' });
  assert.deepEqual(replica.replica.readState(), state);
  assert.equal(replica.lastApplied, 0);
  group.onStart = () => undefined;
  // A peer dies mid-bucket: the wait after backward fails.
  group.onWait = () => {
    throw Object.assign(new Error('peer lost'), { code: 'COLL_ERR_PEER_LOST' });
  };
  await assert.rejects(replica.step(shard(8, 16), 1, 16), { code: 'COLL_ERR_PEER_LOST' });
  assert.deepEqual(replica.replica.readState(), state);
  group.onWait = () => undefined;
  await replica.step(shard(8, 16), 1, 16);
  assert.equal(replica.lastApplied, 1);
  replica.replica.dispose();
});

test('no overlap unless every rank can: bucket size 0 anywhere, or a communicator that would block', async () => {
  const off = await create(new IdenticalPeers(2, true), 'cnn-bn', 'sgd', 0);
  assert.equal(off.gradientBuckets, 0);
  const blocking = new IdenticalPeers(2, true);
  blocking.overlapsAllReduce = () => false;
  const refused = await create(blocking, 'cnn-bn', 'sgd');
  assert.equal(refused.gradientBuckets, 0);
  // A peer that says no: the agreement's max says so here too.
  const peerSaysNo = new IdenticalPeers(2, true);
  const reduce = peerSaysNo.allReduce.bind(peerSaysNo);
  peerSaysNo.allReduce = (buf, op) => {
    reduce(buf, op);
    if (op === 'max' && buf.length === 3) buf[0] = 1;
  };
  const vetoed = await create(peerSaysNo, 'cnn-bn', 'sgd');
  assert.equal(vetoed.gradientBuckets, 0);
  for (const r of [off, refused, vetoed]) r.replica.dispose();
});
