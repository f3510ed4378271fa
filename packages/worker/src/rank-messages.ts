import type { BackendInfo, BackendRequest } from '@tfjs-ddp/backend';
import type { SharedDatasetHandle } from '@tfjs-ddp/data';
import type { Evaluation, TrainConfig } from '@tfjs-ddp/trainer';

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
  config: TrainConfig;
  /** `local`, `sync` or `sync:K`. */
  bnMode: string;
  backend: BackendRequest;
  train: SharedDatasetHandle;
  test: SharedDatasetHandle;
  /** The process's thread group (`ThreadGroup.handle` of @tfjs-ddp/collective). */
  communicator: unknown;
  /** Compare a checksum of every replica's weights every this many steps (0: never). */
  checkReplicasEvery: number;
}

/** One rank's part of one global step. */
export interface StepOrder {
  kind: 'step';
  /** Step number in the whole run, 0-based: dropout masks depend on it. */
  step: number;
  epoch: number;
  /** Global data-set indices of this rank's shard (may be empty). */
  indices: Int32Array;
  /** Samples in the global batch (all ranks): gradients are divided by it. */
  globalCount: number;
}

/** End of an epoch: moving statistics are made consistent, rank 0 evaluates on the test set. */
export interface EvaluateOrder {
  kind: 'evaluate';
  epoch: number;
}

export interface FinishOrder {
  kind: 'finish';
  /** Rank 0 saves the model here as a plain tfjs model folder. */
  saveTo?: string;
  /** Every rank returns its flat weights (tests compare replicas with them). */
  returnWeights: boolean;
}

export type RankOrder = StepOrder | EvaluateOrder | FinishOrder;

/** Where a rank's step time went, in milliseconds. */
export interface StepTimings {
  /** Forward and backward, SyncBN waits excluded. */
  computeMs: number;
  /** Inside SyncBN's collectives (statistics and their gradients). */
  syncBnMs: number;
  /** The gradient all-reduce. */
  allReduceMs: number;
  /** The optimizer update. */
  applyMs: number;
  /** Waiting for this step's order after the previous one was done. */
  waitMs: number;
}

export interface RankReady {
  kind: 'ready';
  rank: number;
  backend: BackendInfo;
  parameters: number;
}

export interface StepDone {
  kind: 'stepDone';
  rank: number;
  step: number;
  lossSum: number;
  correct: number;
  count: number;
  timings: StepTimings;
}

export interface Evaluated {
  kind: 'evaluated';
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
  evaluation?: Evaluation;
}

export interface RankFailed {
  kind: 'failed';
  rank: number;
  message: string;
  code?: string;
}

export type RankReport = RankReady | StepDone | Evaluated | Finished | RankFailed;
