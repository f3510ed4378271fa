import { Packr } from 'msgpackr';
import { FRAME_PREFIX_BYTES, NONCE_BYTES, PROOF_BYTES, PROTOCOL_VERSION, encodeFrameBytes, type Message } from '@tfjs-ddp/protocol';
import type { Prng } from './prng.js';

/**
 * Valid messages of every type in `@tfjs-ddp/protocol`, typed by the protocol itself (the
 * compiler keeps them valid when a message changes), with payloads of the right length
 * where the type has one; the fuzzers start from their `encodeFrameBytes` frames and
 * mutate them. Also the raw msgpack tools a mutator needs: a packer with the protocol's
 * options and a frame assembler that writes any prefix, true or not.
 */

export interface Sample {
  readonly message: Message;
  readonly payload: Uint8Array;
}

const v = PROTOCOL_VERSION;

function f32(...values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
function i32(...values: number[]): Uint8Array {
  return new Uint8Array(Int32Array.from(values).buffer);
}

/** Every message type once, valid. `token`/`jobId` fill the join (callers pass wrong ones). */
export function protocolSamples(prng: Prng, join: { token: string; jobId: string }): Sample[] {
  const config = {
    model: 'mlp', dataset: 'synthetic', epochs: 1, globalBatch: 8, optimizer: { name: 'sgd' as const, learningRate: 0.1 }, seed: 1, maxSteps: 3,
    // The training rules, so that fuzzing reaches their validators too.
    lrSchedule: 'cosine' as const, lrWarmupSteps: 2, lrMin: 0.001, lrDecaySteps: 3, lrReferenceBatch: 256, weightDecay: 0.0005, clipNorm: 1,
    loss: 'binary-crossentropy' as const,
  };
  const report = { rank: 0, lossSum: 1.5, correct: 2, count: 4, computeMs: 1, syncBnMs: 0, allReduceMs: 1, applyMs: 1, waitMs: 0, sampleDigest: 12345 };
  const json = new TextEncoder().encode('{}');
  const samples: Sample[] = [
    { message: { v, t: 'join', token: join.token, jobId: join.jobId, host: '127.0.0.1', peerPort: 4000, threads: 1, backend: 'wasm', pid: 4242 }, payload: new Uint8Array(0) },
    { message: { v, t: 'refuse', code: 'COORD_ERR_BAD_TOKEN', reason: 'no' }, payload: new Uint8Array(0) },
    {
      message: {
        v, t: 'assign', jobId: 'j', generation: 0, joining: false, jobSecret: 's', processRank: 0, processCount: 1, rankOffset: 0, threads: 1, worldSize: 1,
        peers: [{ rank: 0, host: '127.0.0.1', port: 4000, threads: 1 }], config, bnMode: 'sync', dataSource: 'local', datasetFingerprint: 'f',
        inputShape: [4], numClasses: 2, modelHash: 'h', checkReplicasEvery: 0, opTimeoutMs: 1000, compress: 'fp16',
      },
      payload: new Uint8Array(0),
    },
    { message: { v, t: 'testSet', count: 2, inputShape: [2], numClasses: 2 }, payload: Buffer.concat([f32(1, 2, 3, 4), i32(0, 1)]) },
    { message: { v, t: 'workerReady', backend: 'wasm', backendReason: 'asked', parameters: 10 }, payload: new Uint8Array(0) },
    { message: { v, t: 'step', generation: 0, step: 0, epoch: 0, globalCount: 3, counts: [2, 1], sampleSize: 0 }, payload: i32(0, 1, 2) },
    { message: { v, t: 'evaluate', generation: 0, epoch: 0 }, payload: new Uint8Array(0) },
    { message: { v, t: 'halt', generation: 1, reason: 'fuzz' }, payload: new Uint8Array(0) },
    { message: { v, t: 'halted', generation: 1, peerPort: 4001, lastApplied: 3 }, payload: new Uint8Array(0) },
    { message: { v, t: 'regroup', generation: 1, processRank: 0, processCount: 1, rankOffset: 0, threads: 1, worldSize: 1, peers: [{ rank: 0, host: '127.0.0.1', port: 4001, threads: 1 }], rollbackTo: 2, shareState: false }, payload: new Uint8Array(0) },
    { message: { v, t: 'state', step: 3 }, payload: f32(1, 2) },
    { message: { v, t: 'checkpointRequest', generation: 0, step: 3 }, payload: new Uint8Array(0) },
    { message: { v, t: 'checkpointData', step: 3, jsonBytes: json.byteLength, weightsBytes: 4 }, payload: Buffer.concat([json, f32(1), f32(2, 3)]) },
    { message: { v, t: 'stepDone', generation: 0, step: 0, reports: [report] }, payload: new Uint8Array(0) },
    {
      message: { v, t: 'stepDone', generation: 0, step: 1, reports: [report], net: { sentBytes: 4096, receivedBytes: 4000, payloadBytes: 3900, netMs: 2.5 } },
      payload: new Uint8Array(0),
    },
    { message: { v, t: 'evaluated', epoch: 0, accuracy: 0.5, loss: 1, count: 10 }, payload: new Uint8Array(0) },
    { message: { v, t: 'finish' }, payload: new Uint8Array(0) },
    { message: { v, t: 'model', jsonBytes: json.byteLength, accuracy: 0.5, loss: 1 }, payload: Buffer.concat([json, f32(1, 2)]) },
    { message: { v, t: 'finished' }, payload: new Uint8Array(0) },
    { message: { v, t: 'leave', reason: 'SIGTERM' }, payload: new Uint8Array(0) },
    { message: { v, t: 'fail', code: 'WORKER_ERR_X', reason: 'fuzz', rank: -1 }, payload: new Uint8Array(0) },
    { message: { v, t: 'hello', group: 'g', from: 1, to: 0, size: 2, localSizes: [1, 1], nonce: prng.bytes(NONCE_BYTES) }, payload: new Uint8Array(0) },
    { message: { v, t: 'auth', proof: prng.bytes(PROOF_BYTES) }, payload: new Uint8Array(0) },
    { message: { v, t: 'ready' }, payload: new Uint8Array(0) },
    { message: { v, t: 'data', g: 'w', s: 0, i: 0, off: 0, n: 3, dt: 'float32' }, payload: f32(1, 2, 3) },
    { message: { v, t: 'abort', code: 'COLL_ERR_ABORTED', rank: 0, reason: 'fuzz' }, payload: new Uint8Array(0) },
    { message: { v, t: 'bye' }, payload: new Uint8Array(0) },
  ];
  // encodeFrameBytes validates: a sample the protocol would not send fails here, not in the fuzz.
  for (const s of samples) encodeFrameBytes(s.message, s.payload);
  return samples;
}

/** Packs like the protocol does (plain maps, no records). */
export const packr = new Packr({ useRecords: false });

/** A frame with any prefix: the true lengths unless told otherwise. */
export function assembleFrame(header: Uint8Array, payload: Uint8Array, lie: { headerBytes?: number; payloadBytes?: number } = {}): Buffer {
  const prefix = Buffer.alloc(FRAME_PREFIX_BYTES);
  prefix.writeUInt32LE(lie.headerBytes ?? header.byteLength, 0);
  prefix.writeUInt32LE(lie.payloadBytes ?? payload.byteLength, 4);
  return Buffer.concat([prefix, header, payload]);
}

/**
 * A msgpack map written entry by entry, so keys may repeat or be non-strings (msgpackr
 * would never produce either from an object).
 */
export function rawMap(entries: ReadonlyArray<readonly [unknown, unknown]>): Buffer {
  const head = Buffer.alloc(3);
  head[0] = 0xde;
  head.writeUInt16BE(entries.length, 1);
  return Buffer.concat([head, ...entries.flatMap(([k, value]) => [packr.pack(k), packr.pack(value)])]);
}
