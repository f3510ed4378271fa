import type { BackendInfo, BackendOptions, BackendRequest } from '@tfjs-ddp/backend';
import type { SharedDatasetHandle } from '@tfjs-ddp/data';
import type { JobConfig, RankStepDone } from '@tfjs-ddp/protocol';
import type { Evaluation, ModelArtifactsBytes } from '@tfjs-ddp/trainer';

/**
 * Messages between a process's main thread and its rank threads (postMessage; typed
 * arrays are structured-cloned, SharedArrayBuffers shared). Every rank thread hosts
 * one replica.
 */

export interface RankInit {
  kind: 'init';
  /** Global rank of this replica. */
  rank: number;
  /** Index of this rank's thread in its process. */
  localRank: number;
  worldSize: number;
  config: JobConfig;
  /** `local`, `sync` or `sync:K`. */
  bnMode: string;
  backend: BackendRequest;
  /** What the process layout allows (native backends only with one rank thread; whether a GPU build may run on the CPU). */
  backendOptions?: BackendOptions;
  /** The training set, when this process holds it; otherwise every step order brings its samples. */
  train?: SharedDatasetHandle;
  /** The test set; needed by rank 0 only (it evaluates). */
  test?: SharedDatasetHandle;
  /** Shape and classes of a sample, for building the model when no data set is held. */
  inputShape: number[];
  numClasses: number;
  /** The process's thread group (`ThreadGroup.handle` of @tfjs-ddp/collective). */
  communicator: unknown;
  /** Compare a checksum of every replica's weights every this many steps (0: never). */
  checkReplicasEvery: number;
  /** 0: the gradient all-reduce must not overlap backward (see `overlapsOnThisMachine`); absent: the trainer's default. */
  bucketBytes?: number;
  /** Membership generation the rank starts in. */
  generation: number;
  /** Rank 0 only, on resume: the training state to start from (shared with every rank). */
  initialState?: Float32Array;
  /** The model as model-folder bytes (a library user's model) instead of the one `config.model` names. */
  model?: ModelArtifactsBytes;
  /** Modules (file URLs) imported before the model is rebuilt: they register the user's layer classes in this thread's tfjs. */
  register?: string[];
  /** Faults tests plant in this rank (see test-faults.ts); never set in production. */
  testFaults?: RankTestFaults;
}

/**
 * TEST FAULT HOOKS. A rank given these misbehaves on purpose so that tests can see the
 * coordinator's checks fail; nothing outside tests sets them.
 */
export interface RankTestFaults {
  /** From this step on (0-based), train the shard with its first sample replaced by the next index of the data set. */
  wrongShardFromStep?: number;
}

/** One rank's part of one global step. */
export interface StepOrder {
  kind: 'step';
  /** Orders of an older generation are dropped. */
  generation: number;
  /** Step number in the whole run, 0-based: dropout masks depend on it. */
  step: number;
  epoch: number;
  /** Global data-set indices of this rank's shard (may be empty). */
  indices: Int32Array;
  /** Samples in the global batch (all ranks): gradients are divided by it. */
  globalCount: number;
  /** The shard's samples, when the process holds no data set. */
  x?: Float32Array;
  y?: Int32Array;
}

/** End of an epoch: moving statistics are made consistent, rank 0 evaluates on the test set. */
export interface EvaluateOrder {
  kind: 'evaluate';
  generation: number;
  epoch: number;
}

/**
 * A new ring: roll back to the state after step `rollbackTo` (-1: before any step) if
 * this rank went further, join the new thread group, and take rank 0's state when asked.
 */
export interface RegroupOrder {
  kind: 'regroup';
  generation: number;
  /** The process's new thread group. */
  communicator: unknown;
  rank: number;
  worldSize: number;
  rollbackTo: number;
  shareState: boolean;
}

/** Every rank: share the moving statistics; rank 0 then reports the model and the training state after `step`. */
export interface CheckpointOrder {
  kind: 'checkpoint';
  generation: number;
  step: number;
}

export interface FinishOrder {
  kind: 'finish';
  /** Rank 0 saves the model here as a plain tfjs model folder. */
  saveTo?: string;
  /** Rank 0 returns the model as the bytes of a tfjs model folder. */
  returnModel: boolean;
  /** Every rank returns its flat weights (tests compare replicas with them). */
  returnWeights: boolean;
}

export type RankOrder = StepOrder | EvaluateOrder | RegroupOrder | CheckpointOrder | FinishOrder;

export interface RankReady {
  kind: 'ready';
  rank: number;
  backend: BackendInfo;
  parameters: number;
  /** Buckets of the gradient all-reduce that overlaps backward; 0: one blocking all-reduce after it. */
  gradientBuckets: number;
}

export interface StepDone {
  kind: 'stepDone';
  generation: number;
  step: number;
  report: RankStepDone;
}

export interface Evaluated {
  kind: 'evaluated';
  generation: number;
  rank: number;
  epoch: number;
  /** Rank 0 only. */
  evaluation?: Evaluation;
}

export interface Finished {
  kind: 'finished';
  rank: number;
  weights?: Float32Array;
  modelPath?: string;
  model?: ModelArtifactsBytes;
  /** Rank 0 only: the final model on the test set. */
  evaluation?: Evaluation;
}

export interface RankFailed {
  kind: 'failed';
  rank: number;
  message: string;
  code?: string;
  /** The rank is gone (not a collective failure it can recover from with a regroup). */
  fatal: boolean;
  generation: number;
}

export interface Regrouped {
  kind: 'regrouped';
  rank: number;
  generation: number;
}

export interface CheckpointTaken {
  kind: 'checkpoint';
  rank: number;
  step: number;
  /** Rank 0's model and training state; the other ranks only took part in the BN statistics. */
  data?: { model: ModelArtifactsBytes; state: Float32Array };
}

export type RankReport = RankReady | StepDone | Evaluated | Finished | RankFailed | Regrouped | CheckpointTaken;
