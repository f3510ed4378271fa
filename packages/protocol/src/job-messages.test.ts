import assert from 'node:assert/strict';
import { test } from 'node:test';
import { viewPayload } from './dtypes.js';
import { decodeFrameBytes, encodeFrameBytes } from './frame.js';
import { LOSS_NAMES, type JobConfig } from './job-config.js';
import type { Message } from './messages.js';
import { PROTOCOL_VERSION } from './messages.js';
import { MAX_REPORTED_MS, MIN_REPORTED_MS, reportedMs, validateJobConfig } from './validate-job.js';

const v = PROTOCOL_VERSION;
const config: JobConfig = { model: 'cnn-bn', dataset: 'mnist', epochs: 2, globalBatch: 64, optimizer: { name: 'adam', learningRate: 0.001 }, seed: 3, dropout: 0.25 };

function roundTrip(message: Message, payload?: Uint8Array): { message: Message; payload: Uint8Array } {
  return decodeFrameBytes(encodeFrameBytes(message, payload));
}

function bytes(array: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

test('every job message survives encode -> decode, payloads as raw bytes', () => {
  const join: Message = { v, t: 'join', token: 't', jobId: '', host: 'pod-0.workers', peerPort: 7000, threads: 2, backend: 'auto', pid: 42 };
  assert.deepEqual(roundTrip(join).message, join);
  const assign: Message = {
    v, t: 'assign', jobId: 'j', generation: 0, joining: false, jobSecret: 's', processRank: 1, processCount: 2, rankOffset: 2, threads: 2, worldSize: 4,
    peers: [{ rank: 0, host: 'a', port: 1, threads: 2 }, { rank: 1, host: 'b', port: 2, threads: 2 }], config, bnMode: 'sync', dataSource: 'local',
    datasetFingerprint: 'f', inputShape: [28, 28, 1], numClasses: 10, modelHash: 'h', checkReplicasEvery: 0, opTimeoutMs: 1000, compress: 'bf16',
  };
  assert.deepEqual(roundTrip(assign).message, assign);
  // The gradient wire format is one of the known ones, and it must be there.
  assert.throws(() => encodeFrameBytes({ ...assign, compress: 'int8' } as unknown as Message), { code: 'PROTOCOL_ERR_FIELD', message: /compress/ });
  const { compress: _, ...noCompress } = assign as Extract<Message, { t: 'assign' }>;
  assert.throws(() => encodeFrameBytes(noCompress as unknown as Message), { code: 'PROTOCOL_ERR_FIELD' });
  const indices = Int32Array.of(5, 9, 2);
  const x = Float32Array.from({ length: 3 * 4 }, (_, i) => i / 3);
  const y = Int32Array.of(1, 0, 3);
  const step: Message = { v, t: 'step', generation: 0, step: 7, epoch: 1, globalCount: 4, counts: [2, 1], sampleSize: 4 };
  const decoded = roundTrip(step, Buffer.concat([bytes(indices), bytes(x), bytes(y)]));
  assert.deepEqual(decoded.message, step);
  assert.deepEqual([...(viewPayload('int32', decoded.payload.subarray(0, 12)) as Int32Array)], [5, 9, 2]);
  assert.deepEqual([...(viewPayload('float32', decoded.payload.subarray(12, 60)) as Float32Array)], [...x]);
  const timings = { computeMs: 3, syncBnMs: 0.5, allReduceMs: 0.25, applyMs: 0.1, waitMs: 0 };
  const report = { rank: 2, lossSum: 1.5, correct: 1, count: 2, ...timings, sampleDigest: 2 ** 52 - 1 };
  const done: Message = { v, t: 'stepDone', generation: 1, step: 7, reports: [report] };
  assert.deepEqual(roundTrip(done).message, done);
  const model: Message = { v, t: 'model', jsonBytes: 2, accuracy: 0.9, loss: 0.3 };
  assert.deepEqual(roundTrip(model, Uint8Array.of(123, 125, 1, 2, 3, 4)).message, model);
  const regroup: Message = { v, t: 'regroup', generation: 2, processRank: 0, processCount: 1, rankOffset: 0, threads: 2, worldSize: 2, peers: [{ rank: 0, host: 'a', port: 9, threads: 2 }], rollbackTo: 41, shareState: true };
  assert.deepEqual(roundTrip(regroup).message, regroup);
  const checkpoint: Message = { v, t: 'checkpointData', step: 3, jsonBytes: 2, weightsBytes: 4 };
  assert.deepEqual(roundTrip(checkpoint, new Uint8Array(2 + 4 + 8)).message, checkpoint);
  assert.throws(() => encodeFrameBytes(checkpoint, new Uint8Array(2 + 4 + 7)), { code: 'PROTOCOL_ERR_LENGTH' });
});

test('payload lengths must agree with the header; counts with the global batch', () => {
  const step: Message = { v, t: 'step', generation: 0, step: 0, epoch: 0, globalCount: 3, counts: [2, 1], sampleSize: 0 };
  assert.throws(() => encodeFrameBytes(step, new Uint8Array(8)), { code: 'PROTOCOL_ERR_LENGTH' });
  const tooMany: Message = { v, t: 'step', generation: 0, step: 0, epoch: 0, globalCount: 2, counts: [2, 1], sampleSize: 0 };
  assert.throws(() => encodeFrameBytes(tooMany, new Uint8Array(12)), { code: 'PROTOCOL_ERR_FIELD' });
  const testSet: Message = { v, t: 'testSet', count: 2, inputShape: [2, 2], numClasses: 3 };
  assert.throws(() => encodeFrameBytes(testSet, new Uint8Array(2 * 4 * 4)), { code: 'PROTOCOL_ERR_LENGTH' });
  const frame = encodeFrameBytes({ v, t: 'finish' });
  assert.throws(() => decodeFrameBytes(frame.subarray(0, frame.length - 1)), { code: 'PROTOCOL_ERR_TRUNCATED' });
  assert.throws(() => decodeFrameBytes(Buffer.concat([frame, Buffer.of(0)])), { code: 'PROTOCOL_ERR_LENGTH' });
});

test('bad job messages are refused with codes: version, fields, ranges', () => {
  const join = { v, t: 'join', token: 't', jobId: '', host: 'h', peerPort: 7000, threads: 2, backend: 'auto', pid: 1 } as const;
  assert.throws(() => encodeFrameBytes({ ...join, v: v + 1 } as unknown as Message), { code: 'PROTOCOL_ERR_VERSION' });
  assert.throws(() => encodeFrameBytes({ ...join, threads: 32 }), { code: 'PROTOCOL_ERR_FIELD' });
  assert.throws(() => encodeFrameBytes({ ...join, peerPort: 0 }), { code: 'PROTOCOL_ERR_FIELD' });
  assert.throws(() => encodeFrameBytes({ ...join, extra: 1 } as unknown as Message), { code: 'PROTOCOL_ERR_FIELD', message: /unexpected field "extra"/ });
  assert.throws(() => encodeFrameBytes({ v, t: 'evaluated', epoch: 0, accuracy: 2, loss: 0, count: 1 }), { code: 'PROTOCOL_ERR_FIELD' });
  const nanLoss = { rank: 0, lossSum: Number.NaN, correct: 0, count: 0, computeMs: 0, syncBnMs: 0, allReduceMs: 0, applyMs: 0, waitMs: 0, sampleDigest: 0 };
  assert.throws(() => encodeFrameBytes({ v, t: 'stepDone', generation: 0, step: 0, reports: [nanLoss] }), { code: 'PROTOCOL_ERR_FIELD' });
});

test('a step report\'s timings are finite, at most a day, 0 or at least a nanosecond; its digest an integer below 2^52', () => {
  const report = { rank: 0, lossSum: 1, correct: 0, count: 1, computeMs: 1, syncBnMs: 0, allReduceMs: 0, applyMs: 0, waitMs: 0, sampleDigest: 7 };
  const done = (r: Record<string, number>): Message => ({ v, t: 'stepDone', generation: 0, step: 0, reports: [{ ...report, ...r }] }) as Message;
  assert.doesNotThrow(() => encodeFrameBytes(done({ computeMs: MAX_REPORTED_MS, waitMs: MIN_REPORTED_MS })));
  for (const key of ['computeMs', 'syncBnMs', 'allReduceMs', 'applyMs', 'waitMs']) {
    for (const bad of [5e-324, Number.NaN, Infinity, 1e300, -1, MAX_REPORTED_MS * 2]) {
      assert.throws(() => encodeFrameBytes(done({ [key]: bad })), { code: 'PROTOCOL_ERR_FIELD' }, `${key} = ${bad}`);
    }
  }
  for (const bad of [-1, 0.5, 2 ** 52, Number.NaN]) {
    assert.throws(() => encodeFrameBytes(done({ sampleDigest: bad })), { code: 'PROTOCOL_ERR_FIELD' }, `digest ${bad}`);
  }
  const noGeneration = { v, t: 'stepDone', step: 0, reports: [report] } as unknown as Message;
  assert.throws(() => encodeFrameBytes(noGeneration), { code: 'PROTOCOL_ERR_FIELD' }, 'no generation');
  // What a rank measures is rounded into the bounds.
  assert.deepEqual([5e-324, -0.5, Number.NaN, 0.25, 1e300].map(reportedMs), [0, 0, 0, 0.25, MAX_REPORTED_MS]);
});

test('job configurations are checked field by field', () => {
  assert.deepEqual(validateJobConfig(config as unknown as Record<string, unknown>), config);
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ ...config, epochs: 0 }, /epochs/],
    [{ ...config, optimizer: { name: 'rmsprop' } }, /name must be one of sgd, momentum, adam/],
    [{ ...config, optimizer: { name: 'sgd', learningRate: -1 } }, /learningRate/],
    [{ ...config, dropout: 1 }, /dropout/],
    [{ ...config, bnPlacement: 'middle' }, /bnPlacement/],
    [{ ...config, model: '' }, /model/],
    [{ ...config, surprise: true }, /unexpected field/],
    [{ ...config, shuffle: 'no' }, /shuffle/],
  ];
  assert.equal(validateJobConfig({ ...config, shuffle: false }).shuffle, false);
  for (const [value, message] of bad) assert.throws(() => validateJobConfig(value), { code: 'PROTOCOL_ERR_FIELD', message });
});

test('training rules (schedule, weight decay, clipping) are accepted within their bounds and refused outside', () => {
  const rules: JobConfig = {
    ...config, lrSchedule: 'cosine', lrWarmupSteps: 5, lrMin: 1e-5, lrDecaySteps: 100, lrReferenceBatch: 256, weightDecay: 5e-4, clipNorm: 1,
  };
  assert.deepEqual(validateJobConfig(rules as unknown as Record<string, unknown>), rules);
  const stepped = { ...config, lrSchedule: 'step', lrStepEvery: 30, lrStepFactor: 0.5 };
  assert.deepEqual(validateJobConfig(stepped), stepped);
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ ...config, lrSchedule: 'linear' }, /lrSchedule/],
    [{ ...config, lrSchedule: 'step' }, /needs lrStepEvery/],
    [{ ...config, lrStepEvery: 0 }, /lrStepEvery/],
    [{ ...config, lrStepFactor: 0 }, /lrStepFactor/],
    [{ ...config, lrStepFactor: 2 }, /lrStepFactor/],
    [{ ...config, lrWarmupSteps: -1 }, /lrWarmupSteps/],
    [{ ...config, lrWarmupSteps: 1.5 }, /lrWarmupSteps/],
    [{ ...config, lrMin: -1 }, /lrMin/],
    [{ ...config, lrDecaySteps: 0 }, /lrDecaySteps/],
    [{ ...config, lrReferenceBatch: 0 }, /lrReferenceBatch/],
    [{ ...config, weightDecay: -0.1 }, /weightDecay/],
    [{ ...config, weightDecay: 2 }, /weightDecay/],
    [{ ...config, weightDecay: Number.NaN }, /weightDecay/],
    [{ ...config, clipNorm: 0 }, /clipNorm/],
    [{ ...config, clipNorm: Number.POSITIVE_INFINITY }, /clipNorm/],
  ];
  for (const [value, message] of bad) assert.throws(() => validateJobConfig(value), { code: 'PROTOCOL_ERR_FIELD', message });
});

test('the loss is one of its names, left out at its default; other names (sparse-categorical-crossentropy too) are refused', () => {
  for (const loss of LOSS_NAMES) assert.deepEqual(validateJobConfig({ ...config, loss }), { ...config, loss });
  assert.equal('loss' in validateJobConfig({ ...config }), false, 'no loss field: the default, as older configs have it');
  for (const loss of ['sparse-categorical-crossentropy', 'categoricalCrossentropy', '', 1]) {
    assert.throws(() => validateJobConfig({ ...config, loss }), { code: 'PROTOCOL_ERR_FIELD', message: /loss/ });
  }
});

test('viewPayload copies unaligned bytes, also when they are a Node Buffer view', () => {
  const buffer = Buffer.alloc(9);
  buffer.writeInt32LE(-7, 1);
  buffer.writeInt32LE(11, 5);
  const view = viewPayload('int32', buffer.subarray(1)) as Int32Array;
  assert.deepEqual([...view], [-7, 11]);
});

test("a step report's network figures are bounded integers and a timing; payload never exceeds the bytes sent", () => {
  const report = { rank: 0, lossSum: 1, correct: 0, count: 1, computeMs: 1, syncBnMs: 0, allReduceMs: 0, applyMs: 0, waitMs: 0, sampleDigest: 7 };
  const net = { sentBytes: 434_000, receivedBytes: 433_900, payloadBytes: 433_800, netMs: 350 };
  const done = (n: unknown): Message => ({ v, t: 'stepDone', generation: 0, step: 0, reports: [report], net: n }) as Message;
  assert.deepEqual(roundTrip(done(net)).message, done(net));
  const bad: [unknown, string][] = [
    [{ ...net, sentBytes: -1 }, 'negative'],
    [{ ...net, receivedBytes: 2 ** 41 }, 'beyond a terabyte'],
    [{ ...net, sentBytes: 1.5 }, 'fractional'],
    [{ ...net, payloadBytes: net.sentBytes + 1 }, 'more payload than sent'],
    [{ ...net, netMs: Number.NaN }, 'NaN time'],
    [{ ...net, netMs: 5e-324 }, 'denormal time'],
    [{ ...net, extra: 1 }, 'unknown field'],
    [{ sentBytes: 1, receivedBytes: 1, payloadBytes: 1 }, 'no time'],
    [[1, 2, 3, 4], 'a list'],
    ['net', 'a string'],
  ];
  for (const [n, why] of bad) assert.throws(() => encodeFrameBytes(done(n)), { code: 'PROTOCOL_ERR_FIELD' }, why);
});
