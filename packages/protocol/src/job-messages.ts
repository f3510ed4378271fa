import type { JobConfig } from './job-config.js';

/**
 * The coordinator <-> worker messages (one frame per WebSocket message, over `JobSocket`).
 * A worker joins, is assigned its ranks and peers, receives a step order per global step
 * (its ranks' sample indices, and the samples themselves when the coordinator holds the
 * data), and answers with its ranks' reports. The messages in `JOB_PAYLOAD_TYPES` carry a
 * raw payload; each layout is encoded, sized and decoded in `payloads.ts` alone.
 */

/** Worker -> coordinator, first message: who I am. */
export interface JoinMessage {
  readonly v: number;
  readonly t: 'join';
  /** The job token (compared in constant time; never logged). */
  readonly token: string;
  /** Join only the job with this id; '' joins whatever job the coordinator runs. */
  readonly jobId: string;
  /** The host ring peers reach this worker at. */
  readonly host: string;
  readonly peerPort: number;
  /** Rank threads (replicas) this worker hosts. */
  readonly threads: number;
  /** The backend the worker was told to use (auto, wasm, node-gpu, ...). */
  readonly backend: string;
  readonly pid: number;
  /**
   * This worker's index among the rank processes one launcher started on its host
   * (`--procs`: process i, pinned to device i). Orders them in the ring, so that rank
   * process i holds the host's i-th ranks (rank 0 on device 0) whatever order they joined in.
   */
  readonly launchIndex?: number;
}

/** Coordinator -> worker: not admitted; the connection closes after it. */
export interface RefuseMessage {
  readonly v: number;
  readonly t: 'refuse';
  readonly code: string;
  readonly reason: string;
}

export interface PeerEntry {
  /** Process rank in the ring. */
  readonly rank: number;
  readonly host: string;
  readonly port: number;
  /** Rank threads that process hosts; global ranks are numbered process by process. */
  readonly threads: number;
}

/** A worker's place in a ring: its process rank, its global ranks and its peers. */
export interface RingPlace {
  readonly processRank: number;
  readonly processCount: number;
  /** Global rank of this worker's first thread. */
  readonly rankOffset: number;
  readonly threads: number;
  readonly worldSize: number;
  readonly peers: readonly PeerEntry[];
}

export type DataSource = 'coordinator' | 'local';
export const DATA_SOURCES: readonly DataSource[] = ['coordinator', 'local'];

/**
 * How gradients travel between worker processes in the all-reduce: exact float32
 * (`none`), or rounded to bfloat16 / IEEE float16 on each hop and summed in float32.
 * Threads of one process, SyncBN statistics, checksums and broadcasts are always exact.
 */
export type Compression = 'none' | 'bf16' | 'fp16';
export const COMPRESSIONS: readonly Compression[] = ['none', 'bf16', 'fp16'];

/** Coordinator -> worker: your place in the job. */
export interface AssignMessage extends RingPlace {
  readonly v: number;
  readonly t: 'assign';
  readonly jobId: string;
  /** Membership generation: bumped every time the ring is re-formed. */
  readonly generation: number;
  /** Joining a running job: the ranks take the training state from rank 0 once linked. */
  readonly joining: boolean;
  /** Secret the ring peers authenticate each other with (never logged). */
  readonly jobSecret: string;
  readonly config: JobConfig;
  /** local | sync | sync:K */
  readonly bnMode: string;
  readonly dataSource: DataSource;
  /** Content hash of the data set (local data must match it). */
  readonly datasetFingerprint: string;
  /** Shape of one sample and the number of classes: a worker without data builds the model from them. */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** Hash of the model definition; a worker whose own differs refuses to train. */
  readonly modelHash: string;
  readonly checkReplicasEvery: number;
  /** Deadline of one collective operation, ms. */
  readonly opTimeoutMs: number;
  /** Wire format of the gradient all-reduce between processes. */
  readonly compress: Compression;
}

/**
 * Coordinator -> the worker hosting rank 0, when the coordinator holds the data: the
 * test set. Payload (`payloads.ts`): its `count` samples' inputs, then their labels.
 */
export interface TestSetMessage {
  readonly v: number;
  readonly t: 'testSet';
  readonly count: number;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
}

/** Worker -> coordinator: every rank thread is up (backend, data, model, initial weights). */
export interface WorkerReadyMessage {
  readonly v: number;
  readonly t: 'workerReady';
  readonly backend: string;
  readonly backendReason: string;
  /** The device the ranks compute on (`GPU (CUDA_VISIBLE_DEVICES=1)`, `CPU (wasm)`); absent after a regroup. */
  readonly device?: string;
  readonly parameters: number;
}

/**
 * Coordinator -> worker: one global step. `counts[i]` samples for the worker's i-th rank.
 * Payload (`payloads.ts`): the sample indices of every rank in rank order; then, when
 * `sampleSize` > 0 (the coordinator holds the data), their inputs and labels.
 */
export interface StepMessage {
  readonly v: number;
  readonly t: 'step';
  /** Orders of an older generation are dropped (they were sent before the ring changed). */
  readonly generation: number;
  readonly step: number;
  readonly epoch: number;
  readonly globalCount: number;
  readonly counts: readonly number[];
  readonly sampleSize: number;
}

/** Coordinator -> worker: the epoch ended; share moving statistics, rank 0 evaluates. */
export interface EvaluateMessage {
  readonly v: number;
  readonly t: 'evaluate';
  readonly generation: number;
  readonly epoch: number;
}

/**
 * Coordinator -> worker: a member was lost (or one joins); stop this generation now (every
 * pending collective fails), open a listener for the next ring and say where.
 */
export interface HaltMessage {
  readonly v: number;
  readonly t: 'halt';
  /** The generation that begins. */
  readonly generation: number;
  readonly reason: string;
}

/** Worker -> coordinator: halted; the port its next ring links go to, and the last step its ranks applied. */
export interface HaltedMessage {
  readonly v: number;
  readonly t: 'halted';
  readonly generation: number;
  readonly peerPort: number;
  /** -1 when no step was applied yet. */
  readonly lastApplied: number;
}

/**
 * Coordinator -> worker: the new ring. Every rank first goes back to the state after step
 * `rollbackTo` (the last step every rank reported: later ones are redone), links to the
 * new peers, and, when `shareState`, takes rank 0's whole training state (a member joined).
 */
export interface RegroupMessage extends RingPlace {
  readonly v: number;
  readonly t: 'regroup';
  readonly generation: number;
  readonly rollbackTo: number;
  readonly shareState: boolean;
}

/**
 * Coordinator -> the worker hosting rank 0, on resume: the training state of a checkpoint
 * after `step` committed steps. Payload (`payloads.ts`): the state, which rank 0 shares.
 */
export interface StateMessage {
  readonly v: number;
  readonly t: 'state';
  readonly step: number;
}

/** Coordinator -> the worker hosting rank 0: after step `step`, send a checkpoint. */
export interface CheckpointRequestMessage {
  readonly v: number;
  readonly t: 'checkpointRequest';
  readonly generation: number;
  readonly step: number;
}

/**
 * Worker hosting rank 0 -> coordinator: rank 0's model and state after `step`.
 * Payload (`payloads.ts`): model.json (`jsonBytes`), weights.bin (`weightsBytes`), the state.
 */
export interface CheckpointDataMessage {
  readonly v: number;
  readonly t: 'checkpointData';
  readonly step: number;
  readonly jsonBytes: number;
  readonly weightsBytes: number;
}

/** One rank's part of one step. */
export interface RankStepReport {
  readonly rank: number;
  /** Loss summed over the rank's shard. */
  readonly lossSum: number;
  readonly correct: number;
  readonly count: number;
  readonly computeMs: number;
  readonly syncBnMs: number;
  readonly allReduceMs: number;
  readonly applyMs: number;
  readonly waitMs: number;
}

/**
 * One rank's report of one step as it travels: its part of the step (`count` is the
 * number of samples it trained) plus `sampleDigest`, the `sampleDigest()` of the indices
 * of the samples it fed to the model, so the coordinator can check that the ranks'
 * shards are disjoint and make up the step's global batch.
 */
export interface RankStepDone extends RankStepReport {
  readonly sampleDigest: number;
}

/**
 * What one worker process's peer links carried between its previous step report and this
 * one (the step's all-reduces and SyncBN exchanges), measured at the sockets.
 */
export interface StepNetworkReport {
  /** Bytes the process sent to its peers: frame heads, tensor payloads and tags. */
  readonly sentBytes: number;
  /** Bytes it read from its peers. */
  readonly receivedBytes: number;
  /** Tensor payload bytes it sent: what the collective algorithms had to move, without framing. */
  readonly payloadBytes: number;
  /** Time its collectives over the peer links were in flight, ms (waits for slower peers included). */
  readonly netMs: number;
}

/** Worker -> coordinator: its ranks finished a step of ring `generation`. */
export interface StepDoneMessage {
  readonly v: number;
  readonly t: 'stepDone';
  /** The generation whose step order the ranks carried out; a report of another ring is refused. */
  readonly generation: number;
  readonly step: number;
  readonly reports: readonly RankStepDone[];
  /** The worker's peer-link traffic in this step; absent when it has no peers (a ring of one process). */
  readonly net?: StepNetworkReport;
}

/** Worker -> coordinator: its ranks finished the end-of-epoch work; rank 0's host adds the test result. */
export interface EvaluatedMessage {
  readonly v: number;
  readonly t: 'evaluated';
  readonly epoch: number;
  /** -1 when this worker does not host rank 0. */
  readonly accuracy: number;
  readonly loss: number;
  readonly count: number;
}

/** Coordinator -> worker: the last step is done; rank 0's host sends the model, then all leave. */
export interface FinishMessage {
  readonly v: number;
  readonly t: 'finish';
}

/**
 * Worker hosting rank 0 -> coordinator: the trained model as a plain tfjs model.
 * Payload (`payloads.ts`): model.json (`jsonBytes`), then weights.bin.
 */
export interface ModelMessage {
  readonly v: number;
  readonly t: 'model';
  readonly jsonBytes: number;
  /** Test accuracy and loss of the final model (rank 0's evaluation). */
  readonly accuracy: number;
  readonly loss: number;
}

/** Worker -> coordinator: done, about to disconnect. */
export interface FinishedMessage {
  readonly v: number;
  readonly t: 'finished';
}

/** Worker -> coordinator: leaving the job (SIGTERM); the coordinator regroups without it at once. */
export interface LeaveMessage {
  readonly v: number;
  readonly t: 'leave';
  readonly reason: string;
}

/** Either way: the job cannot go on here. */
export interface FailMessage {
  readonly v: number;
  readonly t: 'fail';
  readonly code: string;
  readonly reason: string;
  /** Global rank at fault, or -1. */
  readonly rank: number;
}

export type JobMessage =
  | JoinMessage
  | RefuseMessage
  | AssignMessage
  | TestSetMessage
  | WorkerReadyMessage
  | StepMessage
  | EvaluateMessage
  | HaltMessage
  | HaltedMessage
  | RegroupMessage
  | StateMessage
  | CheckpointRequestMessage
  | CheckpointDataMessage
  | StepDoneMessage
  | EvaluatedMessage
  | FinishMessage
  | ModelMessage
  | FinishedMessage
  | LeaveMessage
  | FailMessage;

export type JobMessageType = JobMessage['t'];

/** Job messages that carry a raw payload. */
export const JOB_PAYLOAD_TYPES: readonly JobMessageType[] = ['testSet', 'step', 'model', 'state', 'checkpointData'];
