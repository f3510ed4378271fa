import { hostname } from 'node:os';
import type { BackendRequest } from '@tfjs-ddp/backend';
import { createThreadGroup, ProcessGroupListener, type ProcessGroup, type ThreadGroup } from '@tfjs-ddp/collective';
import type { CoordinatorLog, JobSocket } from '@tfjs-ddp/coordinator';
import { ArrayDataset, modelDefinitionHash, openDataset, shareDataset, type SharedDatasetHandle } from '@tfjs-ddp/data';
import { viewPayload, type AssignMessage, type Message, type StepMessage } from '@tfjs-ddp/protocol';
import { connectToCoordinator } from './coordinator-link.js';
import { withDeadline } from './deadline.js';
import { WorkerError } from './errors.js';
import { GRADIENT_ARENA_BYTES, threadBackend } from './local-job.js';
import { LocalRanks } from './local-ranks.js';
import type { RankInit } from './rank-messages.js';
import { RankPool } from './rank-pool.js';

export interface WorkerProcessOptions {
  /** The coordinator's WebSocket URL, e.g. ws://10.0.0.5:7070. */
  coordinator: string;
  token: string;
  /** Join only this job; default any. */
  jobId?: string;
  /** Rank threads (replicas) in this process. */
  threads: number;
  backend: BackendRequest;
  /** The host ring peers reach this worker at. Default: this machine's hostname (a pod's DNS name in Kubernetes). */
  advertiseHost?: string;
  /** Interface the peer listener binds. Default 0.0.0.0. */
  listenHost?: string;
  /** Port for ring peer links. Default 0 (any free port, advertised to the coordinator). */
  peerPort?: number;
  /** How long to keep trying to reach the coordinator. Default 120 s. */
  connectTimeoutMs?: number;
  /** How long to wait for the job's assignment after joining (the coordinator waits for the other workers). Default 1 h. */
  assignTimeoutMs?: number;
  /** Deadline for rank threads to load backend, data and model, and for peer links. Default 300 s. */
  startupTimeoutMs?: number;
  log?: CoordinatorLog;
}

export interface WorkerProcessResult {
  jobId: string;
  processRank: number;
  /** Global ranks this process hosted. */
  ranks: number[];
}

const QUIET: CoordinatorLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * A worker process: joins the coordinator's job, links to its ring peers, starts one
 * rank thread per replica on a hierarchical communicator (threads in shared memory,
 * processes over TCP), then relays the coordinator's step orders to its ranks and their
 * reports back until the job finishes. Returns when the job is done; throws (after
 * telling the coordinator) when it cannot go on.
 */
export async function runWorker(options: WorkerProcessOptions): Promise<WorkerProcessResult> {
  const log = options.log ?? QUIET;
  const backend = threadBackend(options.backend, options.threads);
  const listener = await ProcessGroupListener.open({ host: options.listenHost ?? '0.0.0.0', port: options.peerPort ?? 0 });
  let socket: JobSocket | undefined;
  let pool: RankPool | undefined;
  let group: ThreadGroup | undefined;
  let processGroup: ProcessGroup | undefined;
  let ranks: LocalRanks | undefined;
  let finished = false;
  let testSet: SharedDatasetHandle | undefined;
  let resolveDone!: () => void;
  let rejectDone!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => undefined);
  let resolveAssign!: (assign: AssignMessage) => void;
  const assigned = new Promise<AssignMessage>((resolve) => (resolveAssign = resolve));
  let resolveTestSet!: () => void;
  const testSetArrived = new Promise<void>((resolve) => (resolveTestSet = resolve));

  const fail = (error: Error): void => {
    if (finished) return;
    finished = true;
    group?.abort(error.message);
    rejectDone(error);
  };

  const onMessage = (message: Message, payload: Uint8Array): void => {
    switch (message.t) {
      case 'refuse':
        fail(new WorkerError('WORKER_ERR_REFUSED', `the coordinator refused this worker: ${message.reason}`, { cause: Object.assign(new Error(message.reason), { code: message.code }) }));
        return;
      case 'fail':
        fail(new WorkerError('WORKER_ERR_JOB_FAILED', `the job failed: ${message.reason}`, { cause: Object.assign(new Error(message.reason), { code: message.code }) }));
        return;
      case 'assign':
        resolveAssign(message);
        return;
      case 'testSet': {
        const sampleSize = message.inputShape.reduce((a, b) => a * b, 1);
        const x = viewPayload('float32', payload.subarray(0, message.count * sampleSize * 4)) as Float32Array;
        const y = viewPayload('int32', payload.subarray(message.count * sampleSize * 4)) as Int32Array;
        testSet = shareDataset(new ArrayDataset({ name: 'test', x, y, inputShape: message.inputShape, numClasses: message.numClasses }));
        resolveTestSet();
        return;
      }
      case 'step':
        relayStep(message, payload);
        return;
      case 'evaluate':
        for (let r = 0; r < (pool?.size ?? 0); r++) pool?.send(r, { kind: 'evaluate', epoch: message.epoch });
        return;
      case 'finish':
        for (let r = 0; r < (pool?.size ?? 0); r++) pool?.send(r, { kind: 'finish', returnModel: true, returnWeights: false });
        return;
      default:
        fail(new WorkerError('WORKER_ERR_PROTOCOL', `unexpected ${message.t} from the coordinator`));
    }
  };

  const relayStep = (message: StepMessage, payload: Uint8Array): void => {
    if (pool === undefined) return;
    const total = message.counts.reduce((a, b) => a + b, 0);
    const indices = viewPayload('int32', payload.subarray(0, total * 4)) as Int32Array;
    const xs = message.sampleSize > 0 ? (viewPayload('float32', payload.subarray(total * 4, total * 4 * (1 + message.sampleSize))) as Float32Array) : undefined;
    const ys = message.sampleSize > 0 ? (viewPayload('int32', payload.subarray(total * 4 * (1 + message.sampleSize))) as Int32Array) : undefined;
    let offset = 0;
    message.counts.forEach((count, r) => {
      const end = offset + count;
      pool?.send(r, {
        kind: 'step',
        step: message.step,
        epoch: message.epoch,
        globalCount: message.globalCount,
        indices: indices.slice(offset, end),
        ...(xs !== undefined && ys !== undefined ? { x: xs.slice(offset * message.sampleSize, end * message.sampleSize), y: ys.slice(offset, end) } : {}),
      });
      offset = end;
    });
  };

  try {
    socket = await connectToCoordinator(
      options.coordinator,
      options.connectTimeoutMs ?? 120_000,
      {
        message: onMessage,
        invalid: (error) => fail(new WorkerError('WORKER_ERR_PROTOCOL', `invalid message from the coordinator: ${error.message}`, { cause: error })),
        close: (code, reason) => {
          if (!finished) fail(new WorkerError('WORKER_ERR_COORDINATOR_LOST', `the connection to the coordinator closed (${code}${reason ? `: ${reason}` : ''})`));
        },
      },
      (attempt, error) => log.warn({ attempt, error }, `coordinator not reachable yet (${error}); retrying`),
    );
    const advertiseHost = options.advertiseHost ?? hostname();
    socket.send({ t: 'join', token: options.token, jobId: options.jobId ?? '', host: advertiseHost, peerPort: listener.port, threads: options.threads, backend: options.backend, pid: process.pid });
    log.info({ coordinator: options.coordinator, host: advertiseHost, peerPort: listener.port, threads: options.threads }, `joined the coordinator at ${options.coordinator}; waiting for the job`);
    const assign = await withDeadline(Promise.race([assigned, done.then(() => never<AssignMessage>())]), options.assignTimeoutMs ?? 3_600_000, () => new WorkerError('WORKER_ERR_COORDINATOR_LOST', 'no assignment from the coordinator in time'));
    if (assign.threads !== options.threads) throw new WorkerError('WORKER_ERR_PROTOCOL', `assigned ${assign.threads} ranks but this worker runs ${options.threads} threads`);
    const ownHash = modelDefinitionHash(assign.config.model, assign.config);
    if (ownHash !== assign.modelHash) {
      throw new WorkerError('WORKER_ERR_MODEL_MISMATCH', `the model "${assign.config.model}" here is not the coordinator's (model definition hash ${ownHash.slice(0, 12)} vs ${assign.modelHash.slice(0, 12)}): give every worker the same model file`);
    }
    log.info({ processRank: assign.processRank, ranks: `${assign.rankOffset}..${assign.rankOffset + assign.threads - 1}`, worldSize: assign.worldSize }, `assigned process rank ${assign.processRank} of ${assign.processCount}`);

    let train: SharedDatasetHandle | undefined;
    if (assign.dataSource === 'local') {
      const data = openDataset(assign.config.dataset, assign.config.seed);
      if (data.train.fingerprint() !== assign.datasetFingerprint) {
        throw new WorkerError('WORKER_ERR_DATA_MISMATCH', `the data set "${assign.config.dataset}" here differs from the coordinator's (fingerprint ${data.train.fingerprint().slice(0, 12)} vs ${assign.datasetFingerprint.slice(0, 12)})`);
      }
      train = shareDataset(data.train);
      if (assign.rankOffset === 0) testSet = shareDataset(data.test);
    } else if (assign.rankOffset === 0) {
      await withDeadline(testSetArrived, options.startupTimeoutMs ?? 300_000, () => new WorkerError('WORKER_ERR_PROTOCOL', 'the coordinator did not send the test set'));
    }

    if (assign.processCount > 1) {
      processGroup = await listener.connect({
        rank: assign.processRank,
        size: assign.processCount,
        peers: assign.peers,
        jobSecret: assign.jobSecret,
        groupId: assign.jobId,
        localSize: assign.threads,
        connectTimeoutMs: options.startupTimeoutMs ?? 300_000,
        opTimeoutMs: assign.opTimeoutMs,
      });
    } else listener.close();
    const threadGroup = createThreadGroup({ threads: assign.threads, process: processGroup, opTimeoutMs: assign.opTimeoutMs, arenaBytes: GRADIENT_ARENA_BYTES });
    group = threadGroup;
    const live = socket;
    ranks = new LocalRanks(assign.threads, {
      onReady: (ready) => {
        const first = ready[0];
        live.send({ t: 'workerReady', backend: first?.backend.name ?? 'unknown', backendReason: first?.backend.reason ?? '', parameters: first?.parameters ?? 0 });
      },
      onStep: (step, reports) => live.send({ t: 'stepDone', step, reports }),
      onEvaluated: (epoch, evaluation) => live.send({ t: 'evaluated', epoch, accuracy: evaluation?.accuracy ?? -1, loss: evaluation?.loss ?? -1, count: evaluation?.count ?? 0 }),
      onFinished: (all) => {
        const model = all.find((f) => f.rank === 0)?.model;
        const evaluation = all.find((f) => f.rank === 0)?.evaluation;
        if (model !== undefined) {
          const json = new TextEncoder().encode(model.modelJson);
          live.send({ t: 'model', jsonBytes: json.byteLength, accuracy: evaluation?.accuracy ?? 0, loss: evaluation?.loss ?? 0 }, json, model.weights);
        }
        live.send({ t: 'finished' });
        finished = true;
        resolveDone();
      },
      onFailed: (error) => {
        live.send({ t: 'fail', code: rootCode(error), reason: error.message.slice(0, 1000), rank: error.rank ?? -1 });
        fail(error);
      },
    });
    const inits: RankInit[] = Array.from({ length: assign.threads }, (_, localRank) => ({
      kind: 'init',
      rank: assign.rankOffset + localRank,
      localRank,
      worldSize: assign.worldSize,
      config: assign.config,
      bnMode: assign.bnMode,
      backend,
      ...(train === undefined ? {} : { train }),
      ...(testSet === undefined ? {} : { test: testSet }),
      inputShape: [...assign.inputShape],
      numClasses: assign.numClasses,
      communicator: threadGroup.handle,
      checkReplicasEvery: assign.checkReplicasEvery,
    }));
    const localRanks = ranks;
    pool = new RankPool(inits, (report) => localRanks.receive(report));
    await done;
    return { jobId: assign.jobId, processRank: assign.processRank, ranks: inits.map((i) => i.rank) };
  } catch (error) {
    const err = error as Error;
    if (socket?.open && !(err instanceof WorkerError && (err.code === 'WORKER_ERR_REFUSED' || err.code === 'WORKER_ERR_JOB_FAILED'))) {
      socket.send({ t: 'fail', code: rootCode(err), reason: err.message.slice(0, 1000), rank: -1 });
    }
    fail(err);
    throw err;
  } finally {
    group?.abort('the worker is leaving');
    await pool?.close();
    group?.close();
    await processGroup?.close().catch((error: unknown) => log.warn({ error: (error as Error).message }, 'closing the process group failed'));
    listener.close();
    socket?.close(1000, 'worker done');
  }
}

function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

/** The code of the innermost cause that has one. */
function rootCode(error: Error): string {
  let code = 'WORKER_ERR_RANK_FAILED';
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const own = (e as { code?: unknown }).code;
    if (typeof own === 'string') code = own;
  }
  return code;
}
