import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeCheckpointPayload,
  decodeFrameBytes,
  decodeModelPayload,
  encodeFrameBytes,
  PROTOCOL_VERSION,
  type Message,
  type Outgoing,
} from '@tfjs-ddp/protocol';
import { reportsToCoordinator, type ReportLink } from './coordinator-reports.js';
import { WorkerError } from './errors.js';
import { stepNetworkReport } from './ring-membership.js';

/** A link that puts every message through a real frame (the validator checks the payload against its header). */
function recordingLink(): { link: ReportLink; sent: { message: Message; payload: Uint8Array }[]; failed: string[]; done: number[] } {
  const sent: { message: Message; payload: Uint8Array }[] = [];
  const failed: string[] = [];
  const done: number[] = [];
  const link: ReportLink = {
    send: (message: Outgoing, ...payload: Uint8Array[]) => {
      sent.push(decodeFrameBytes(encodeFrameBytes({ ...message, v: PROTOCOL_VERSION } as Message, Buffer.concat(payload))));
    },
    generation: () => 3,
    failJob: (error) => failed.push(`job: ${error.code}`),
    reportFailure: (error) => failed.push(`ring: ${error.code}`),
    finished: () => done.push(1),
  };
  return { link, sent, failed, done };
}

test("rank 0's checkpoint and model reach the coordinator in the layout it decodes", () => {
  const { link, sent, done } = recordingLink();
  const reports = reportsToCoordinator(link);
  const model = { modelJson: '{"modelTopology":{"name":"é"}}', weights: Uint8Array.of(1, 2, 3, 4, 5) };
  const state = Float32Array.of(0.5, -1, 7);
  reports.onCheckpoint(12, { model, state });
  reports.onFinished([
    { kind: 'finished', rank: 1 },
    { kind: 'finished', rank: 0, model, evaluation: { accuracy: 0.75, loss: 0.5, count: 8 } },
  ]);
  assert.deepEqual(
    sent.map((s) => s.message.t),
    ['checkpointData', 'model', 'finished'],
  );
  const [checkpoint, trained] = sent;
  assert.ok(checkpoint?.message.t === 'checkpointData' && trained?.message.t === 'model');
  assert.equal(checkpoint.message.step, 12);
  assert.deepEqual(decodeCheckpointPayload(checkpoint.message, checkpoint.payload), { ...model, state });
  assert.deepEqual(decodeModelPayload(trained.message, trained.payload), model);
  assert.equal(trained.message.accuracy, 0.75);
  assert.deepEqual(done, [1]);
});

test('step reports carry the current generation; a fatal rank failure ends the job, a ring failure is only reported', () => {
  const { link, sent, failed } = recordingLink();
  const reports = reportsToCoordinator(link);
  const report = { rank: 2, lossSum: 1, correct: 1, count: 2, computeMs: 1, syncBnMs: 0, allReduceMs: 0, applyMs: 0, waitMs: 0, sampleDigest: 5 };
  reports.onStep(4, [report]);
  assert.deepEqual(sent[0]?.message, { v: PROTOCOL_VERSION, t: 'stepDone', generation: 3, step: 4, reports: [report] });
  reports.onFailed(new WorkerError('WORKER_ERR_RANK_FAILED', 'a collective failed'), false);
  reports.onFailed(new WorkerError('WORKER_ERR_RANK_EXITED', 'gone'), true);
  assert.deepEqual(failed, ['ring: WORKER_ERR_RANK_FAILED', 'job: WORKER_ERR_RANK_EXITED']);
});

test("a step report carries the peer links' traffic when the worker has peers, and passes the validator", () => {
  const { link, sent } = recordingLink();
  const traffic = [{ sentBytes: 5000, receivedBytes: 4900, payloadBytes: 4800, netMs: 12.5 }, undefined];
  const reports = reportsToCoordinator({ ...link, stepTraffic: () => traffic.shift() });
  const report = { rank: 0, lossSum: 1, correct: 1, count: 2, computeMs: 1, syncBnMs: 0, allReduceMs: 1, applyMs: 0, waitMs: 0, sampleDigest: 3 };
  reports.onStep(4, [report]);
  reports.onStep(5, [report]);
  assert.deepEqual(sent.map((s) => (s.message.t === 'stepDone' ? s.message.net : 'other')), [{ sentBytes: 5000, receivedBytes: 4900, payloadBytes: 4800, netMs: 12.5 }, undefined]);
});

test('traffic is reported in the bounds the protocol checks', () => {
  const t = { sentBytes: 10.4, receivedBytes: 2 ** 50, payloadSentBytes: 11, payloadReceivedBytes: 0, busyMs: 5e-324, operations: 1 };
  assert.deepEqual(stepNetworkReport(t), { sentBytes: 10, receivedBytes: 2 ** 40, payloadBytes: 10, netMs: 0 });
});
