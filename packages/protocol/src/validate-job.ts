import { protocolError } from './errors.js';
import { bool, has, int, list, map, num, oneOf, only, str, type Fields } from './fields.js';
import { BN_RECALIBRATE_MODES, LOSS_NAMES, OPTIMIZER_NAMES, type JobConfig, type OptimizerConfig } from './job-config.js';
import { COMPRESSIONS, DATA_SOURCES, type JobMessage, type JobMessageType, type PeerEntry, type RankStepDone, type RingPlace } from './job-messages.js';
import type { StepNetworkReport } from './job-messages.js';
import { PROTOCOL_VERSION } from './messages.js';
import { readTrainingRules, TRAINING_RULE_KEYS } from './validate-training.js';
import { checkpointStateBytes, checkStatePayloadBytes, expectPayloadBytes, sampleSizeOf, stepPayloadBytes, testSetPayloadBytes } from './payloads.js';
import { DIGEST_MODULUS } from './sample-digest.js';

/** Most rank threads one worker may host (the thread group's limit). */
export const MAX_THREADS_PER_WORKER = 31;
/** Most worker processes in a job. */
export const MAX_WORKERS = 4096;
const MAX_RANKS = MAX_THREADS_PER_WORKER * MAX_WORKERS;
const MAX_SAMPLES = 1 << 24;
const MAX_STEPS = Number.MAX_SAFE_INTEGER;
/** Most bytes a worker's peer links may report for one step (a terabyte: far beyond any gradient). */
export const MAX_STEP_NETWORK_BYTES = 2 ** 40;

/**
 * Bounds of every timing a rank reports, ms. Finite, at most a day, and either 0 or at
 * least a nanosecond: a denormal like 5e-324 would make a speed of count/computeMs
 * infinite in the shard balancer. Ranks round what they measure with `reportedMs`.
 */
export const MAX_REPORTED_MS = 24 * 3600 * 1000;
export const MIN_REPORTED_MS = 1e-6;

/** A measured duration as a rank reports it: below a nanosecond is 0, the rest within the bounds. */
export function reportedMs(ms: number): number {
  if (!(ms >= MIN_REPORTED_MS)) return 0;
  return Math.min(ms, MAX_REPORTED_MS);
}

function timing(h: Fields, key: string): number {
  const ms = num(h, key, 0, MAX_REPORTED_MS);
  if (ms !== 0 && ms < MIN_REPORTED_MS) throw protocolError('PROTOCOL_ERR_FIELD', `${key} must be 0 or at least ${MIN_REPORTED_MS} ms`);
  return ms;
}

function optional<T>(h: Fields, key: string, read: (h: Fields, key: string) => T): T | undefined {
  return has(h, key) ? read(h, key) : undefined;
}

function stepNetwork(h: Fields, key: string): StepNetworkReport {
  const n = map(h, key);
  only(n, ['sentBytes', 'receivedBytes', 'payloadBytes', 'netMs']);
  const sentBytes = int(n, 'sentBytes', 0, MAX_STEP_NETWORK_BYTES);
  // Payload travels inside the frames: more payload than bytes sent is a lie.
  const payloadBytes = int(n, 'payloadBytes', 0, sentBytes);
  return { sentBytes, receivedBytes: int(n, 'receivedBytes', 0, MAX_STEP_NETWORK_BYTES), payloadBytes, netMs: timing(n, 'netMs') };
}

/** Checks a job configuration (from the network or from a user's flags) field by field. */
export function validateJobConfig(h: Fields): JobConfig {
  only(h, [
    ...['model', 'dataset', 'epochs', 'globalBatch', 'optimizer', 'seed', 'bnPlacement', 'dropout', 'maxSteps', 'shuffle'],
    ...['bnRecalibrate', 'bnRecalibrateSamples'],
    'loss',
    ...TRAINING_RULE_KEYS,
  ]);
  const o = map(h, 'optimizer');
  only(o, ['name', 'learningRate', 'momentum', 'useNesterov', 'beta1', 'beta2', 'epsilon']);
  const optimizer: OptimizerConfig = { name: oneOf(o, 'name', OPTIMIZER_NAMES) };
  const learningRate = optional(o, 'learningRate', (m, k) => num(m, k, Number.MIN_VALUE, 1e6));
  if (learningRate !== undefined) optimizer.learningRate = learningRate;
  const momentum = optional(o, 'momentum', (m, k) => num(m, k, 0, 1));
  if (momentum !== undefined) optimizer.momentum = momentum;
  const nesterov = optional(o, 'useNesterov', bool);
  if (nesterov !== undefined) optimizer.useNesterov = nesterov;
  for (const key of ['beta1', 'beta2'] as const) {
    const beta = optional(o, key, (m, k) => num(m, k, 0, 1));
    if (beta !== undefined) optimizer[key] = beta;
  }
  const epsilon = optional(o, 'epsilon', (m, k) => num(m, k, 0, 1));
  if (epsilon !== undefined) optimizer.epsilon = epsilon;
  const model = str(h, 'model');
  if (model.length === 0) throw protocolError('PROTOCOL_ERR_FIELD', 'model must not be empty');
  const config: JobConfig = {
    model,
    dataset: str(h, 'dataset'),
    epochs: int(h, 'epochs', 1, 1_000_000),
    globalBatch: int(h, 'globalBatch', 1, MAX_SAMPLES),
    optimizer,
    seed: int(h, 'seed', 0, 0xffffffff),
  };
  const bnPlacement = optional(h, 'bnPlacement', (m, k) => oneOf(m, k, ['before', 'after', 'none'] as const));
  if (bnPlacement !== undefined) config.bnPlacement = bnPlacement;
  const dropout = optional(h, 'dropout', (m, k) => num(m, k, 0, 0.999999));
  if (dropout !== undefined) config.dropout = dropout;
  const maxSteps = optional(h, 'maxSteps', (m, k) => int(m, k, 1, MAX_STEPS));
  if (maxSteps !== undefined) config.maxSteps = maxSteps;
  const shuffle = optional(h, 'shuffle', bool);
  if (shuffle !== undefined) config.shuffle = shuffle;
  const bnRecalibrate = optional(h, 'bnRecalibrate', (m, k) => oneOf(m, k, BN_RECALIBRATE_MODES));
  if (bnRecalibrate !== undefined) config.bnRecalibrate = bnRecalibrate;
  const bnRecalibrateSamples = optional(h, 'bnRecalibrateSamples', (m, k) => int(m, k, 1, MAX_SAMPLES));
  if (bnRecalibrateSamples !== undefined) config.bnRecalibrateSamples = bnRecalibrateSamples;
  readTrainingRules(h, config);
  const loss = optional(h, 'loss', (m, k) => oneOf(m, k, LOSS_NAMES));
  if (loss !== undefined) config.loss = loss;
  return config;
}

function asFields(value: unknown, what: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw protocolError('PROTOCOL_ERR_FIELD', `${what} must be a map`);
  }
  return value as Fields;
}

function count(value: unknown, what: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw protocolError('PROTOCOL_ERR_FIELD', `${what} must be an integer in [0, ${max}]`);
  }
  return value;
}

/** The fields of an assign or a regroup that place a worker in the ring, checked against each other. */
function ringPlace(h: Fields): RingPlace {
  const processCount = int(h, 'processCount', 1, MAX_WORKERS);
  const worldSize = int(h, 'worldSize', 1, MAX_RANKS);
  const threads = int(h, 'threads', 1, MAX_THREADS_PER_WORKER);
  return {
    processRank: int(h, 'processRank', 0, processCount - 1),
    processCount,
    rankOffset: int(h, 'rankOffset', 0, worldSize - threads),
    threads,
    worldSize,
    peers: peerList(h, processCount),
  };
}

function peerList(h: Fields, processCount: number): PeerEntry[] {
  const peers = list(h, 'peers', MAX_WORKERS, (element, i): PeerEntry => {
    const p = asFields(element, `peers[${i}]`);
    only(p, ['rank', 'host', 'port', 'threads']);
    return {
      rank: int(p, 'rank', 0, processCount - 1),
      host: str(p, 'host'),
      port: int(p, 'port', 1, 65535),
      threads: int(p, 'threads', 1, MAX_THREADS_PER_WORKER),
    };
  });
  if (peers.length !== processCount) throw protocolError('PROTOCOL_ERR_FIELD', `the message lists ${peers.length} peers for ${processCount} processes`);
  if (new Set(peers.map((p) => p.rank)).size !== processCount) throw protocolError('PROTOCOL_ERR_FIELD', 'the peers\' process ranks repeat');
  return peers;
}

/** Rank processes one launcher may start on a host (`--procs`): far above any machine's GPUs. */
const MAX_LAUNCH_INDEX = 4095;

const v = PROTOCOL_VERSION;

export const JOB_VALIDATORS: { readonly [T in JobMessageType]: (h: Fields, payloadBytes: number) => Extract<JobMessage, { t: T }> } = {
  join: (h) => {
    only(h, ['v', 't', 'token', 'jobId', 'host', 'peerPort', 'threads', 'backend', 'pid', 'launchIndex']);
    const launchIndex = optional(h, 'launchIndex', (f, k) => int(f, k, 0, MAX_LAUNCH_INDEX));
    return {
      ...(launchIndex === undefined ? {} : { launchIndex }),
      v,
      t: 'join',
      token: str(h, 'token'),
      jobId: str(h, 'jobId'),
      host: str(h, 'host'),
      peerPort: int(h, 'peerPort', 1, 65535),
      threads: int(h, 'threads', 1, MAX_THREADS_PER_WORKER),
      backend: str(h, 'backend'),
      pid: int(h, 'pid', 0, 0x7fffffff),
    };
  },
  refuse: (h) => {
    only(h, ['v', 't', 'code', 'reason']);
    return { v, t: 'refuse', code: str(h, 'code'), reason: str(h, 'reason') };
  },
  assign: (h) => {
    only(h, [
      ...['v', 't', 'jobId', 'generation', 'joining', 'jobSecret'],
      ...['processRank', 'processCount', 'rankOffset', 'threads', 'worldSize', 'peers'],
      ...['config', 'bnMode', 'dataSource', 'datasetFingerprint', 'inputShape', 'numClasses', 'modelHash', 'checkReplicasEvery', 'opTimeoutMs', 'compress'],
    ]);
    return {
      v,
      t: 'assign',
      jobId: str(h, 'jobId'),
      generation: int(h, 'generation', 0, MAX_STEPS),
      joining: bool(h, 'joining'),
      jobSecret: str(h, 'jobSecret'),
      ...ringPlace(h),
      config: validateJobConfig(map(h, 'config')),
      bnMode: str(h, 'bnMode'),
      dataSource: oneOf(h, 'dataSource', DATA_SOURCES),
      datasetFingerprint: str(h, 'datasetFingerprint'),
      inputShape: list(h, 'inputShape', 8, (d, i) => count(d, `inputShape[${i}]`, 1 << 16)),
      numClasses: int(h, 'numClasses', 2, 1 << 20),
      modelHash: str(h, 'modelHash'),
      checkReplicasEvery: int(h, 'checkReplicasEvery', 0, MAX_STEPS),
      opTimeoutMs: int(h, 'opTimeoutMs', 1, 24 * 3600 * 1000),
      compress: oneOf(h, 'compress', COMPRESSIONS),
    };
  },
  testSet: (h, payloadBytes) => {
    only(h, ['v', 't', 'count', 'inputShape', 'numClasses']);
    const n = int(h, 'count', 0, MAX_SAMPLES);
    const inputShape = list(h, 'inputShape', 8, (d, i) => count(d, `inputShape[${i}]`, 1 << 16));
    expectPayloadBytes('testSet', testSetPayloadBytes(n, sampleSizeOf(inputShape)), payloadBytes);
    return { v, t: 'testSet', count: n, inputShape, numClasses: int(h, 'numClasses', 2, 1 << 20) };
  },
  workerReady: (h) => {
    only(h, ['v', 't', 'backend', 'backendReason', 'device', 'parameters']);
    const device = optional(h, 'device', str);
    const parameters = int(h, 'parameters', 0, 0x7fffffff);
    const ready = { v, t: 'workerReady', backend: str(h, 'backend'), backendReason: str(h, 'backendReason'), parameters } as const;
    return device === undefined ? ready : { ...ready, device };
  },
  step: (h, payloadBytes) => {
    only(h, ['v', 't', 'generation', 'step', 'epoch', 'globalCount', 'counts', 'sampleSize']);
    const globalCount = int(h, 'globalCount', 0, MAX_SAMPLES);
    const counts = list(h, 'counts', MAX_THREADS_PER_WORKER, (c, i) => count(c, `counts[${i}]`, globalCount));
    const total = counts.reduce((a, b) => a + b, 0);
    if (total > globalCount) throw protocolError('PROTOCOL_ERR_FIELD', `step shards hold ${total} samples of a global batch of ${globalCount}`);
    const sampleSize = int(h, 'sampleSize', 0, 1 << 24);
    expectPayloadBytes('step', stepPayloadBytes(total, sampleSize), payloadBytes);
    const generation = int(h, 'generation', 0, MAX_STEPS);
    return { v, t: 'step', generation, step: int(h, 'step', 0, MAX_STEPS), epoch: int(h, 'epoch', 0, 1_000_000), globalCount, counts, sampleSize };
  },
  evaluate: (h) => {
    only(h, ['v', 't', 'generation', 'epoch']);
    return { v, t: 'evaluate', generation: int(h, 'generation', 0, MAX_STEPS), epoch: int(h, 'epoch', 0, 1_000_000) };
  },
  halt: (h) => {
    only(h, ['v', 't', 'generation', 'reason']);
    return { v, t: 'halt', generation: int(h, 'generation', 0, MAX_STEPS), reason: str(h, 'reason') };
  },
  halted: (h) => {
    only(h, ['v', 't', 'generation', 'peerPort', 'lastApplied']);
    return {
      v,
      t: 'halted',
      generation: int(h, 'generation', 0, MAX_STEPS),
      peerPort: int(h, 'peerPort', 1, 65535),
      lastApplied: int(h, 'lastApplied', -1, MAX_STEPS),
    };
  },
  regroup: (h) => {
    only(h, ['v', 't', 'generation', 'processRank', 'processCount', 'rankOffset', 'threads', 'worldSize', 'peers', 'rollbackTo', 'shareState']);
    return {
      v,
      t: 'regroup',
      generation: int(h, 'generation', 0, MAX_STEPS),
      ...ringPlace(h),
      rollbackTo: int(h, 'rollbackTo', -1, MAX_STEPS),
      shareState: bool(h, 'shareState'),
    };
  },
  state: (h, payloadBytes) => {
    only(h, ['v', 't', 'step']);
    checkStatePayloadBytes(payloadBytes);
    return { v, t: 'state', step: int(h, 'step', 0, MAX_STEPS) };
  },
  checkpointRequest: (h) => {
    only(h, ['v', 't', 'generation', 'step']);
    return { v, t: 'checkpointRequest', generation: int(h, 'generation', 0, MAX_STEPS), step: int(h, 'step', 0, MAX_STEPS) };
  },
  checkpointData: (h, payloadBytes) => {
    only(h, ['v', 't', 'step', 'jsonBytes', 'weightsBytes']);
    const jsonBytes = int(h, 'jsonBytes', 2, payloadBytes);
    const weightsBytes = int(h, 'weightsBytes', 0, payloadBytes - jsonBytes);
    checkpointStateBytes(payloadBytes, jsonBytes, weightsBytes);
    return { v, t: 'checkpointData', step: int(h, 'step', 0, MAX_STEPS), jsonBytes, weightsBytes };
  },
  stepDone: (h) => {
    only(h, ['v', 't', 'generation', 'step', 'reports', 'net']);
    const reports = list(h, 'reports', MAX_THREADS_PER_WORKER, (element, i): RankStepDone => {
      const r = asFields(element, `reports[${i}]`);
      only(r, ['rank', 'lossSum', 'correct', 'count', 'computeMs', 'syncBnMs', 'allReduceMs', 'applyMs', 'waitMs', 'sampleDigest']);
      const n = int(r, 'count', 0, MAX_SAMPLES);
      return {
        rank: int(r, 'rank', 0, MAX_RANKS - 1),
        lossSum: num(r, 'lossSum', 0),
        correct: int(r, 'correct', 0, n),
        count: n,
        computeMs: timing(r, 'computeMs'),
        syncBnMs: timing(r, 'syncBnMs'),
        allReduceMs: timing(r, 'allReduceMs'),
        applyMs: timing(r, 'applyMs'),
        waitMs: timing(r, 'waitMs'),
        sampleDigest: int(r, 'sampleDigest', 0, DIGEST_MODULUS - 1),
      };
    });
    const net = optional(h, 'net', stepNetwork);
    const step = { v, t: 'stepDone' as const, generation: int(h, 'generation', 0, MAX_STEPS), step: int(h, 'step', 0, MAX_STEPS), reports };
    return net === undefined ? step : { ...step, net };
  },
  evaluated: (h) => {
    only(h, ['v', 't', 'epoch', 'accuracy', 'loss', 'count']);
    return {
      v,
      t: 'evaluated',
      epoch: int(h, 'epoch', 0, 1_000_000),
      accuracy: num(h, 'accuracy', -1, 1),
      loss: num(h, 'loss', -1),
      count: int(h, 'count', 0, MAX_SAMPLES),
    };
  },
  finish: (h) => {
    only(h, ['v', 't']);
    return { v, t: 'finish' };
  },
  model: (h, payloadBytes) => {
    only(h, ['v', 't', 'jsonBytes', 'accuracy', 'loss']);
    const jsonBytes = int(h, 'jsonBytes', 2, payloadBytes);
    return { v, t: 'model', jsonBytes, accuracy: num(h, 'accuracy', 0, 1), loss: num(h, 'loss', 0) };
  },
  finished: (h) => {
    only(h, ['v', 't']);
    return { v, t: 'finished' };
  },
  leave: (h) => {
    only(h, ['v', 't', 'reason']);
    return { v, t: 'leave', reason: str(h, 'reason') };
  },
  fail: (h) => {
    only(h, ['v', 't', 'code', 'reason', 'rank']);
    return { v, t: 'fail', code: str(h, 'code'), reason: str(h, 'reason'), rank: int(h, 'rank', -1, MAX_RANKS - 1) };
  },
};
