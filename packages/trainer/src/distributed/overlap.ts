import { appendFileSync } from 'node:fs';
import { syncBatchNormLayers } from '@tfjs-ddp/nn';
import { TrainerError } from '../errors.js';
import type { Replica } from '../replica.js';
import { BucketedAllReduce, planBuckets, type OverlapReport } from './gradient-buckets.js';
import type { ReplicaCommunicator } from './replica-communicator.js';
import type { TimedBatchNormGroup } from './timed-group.js';

/**
 * Bucket size of the overlapped gradient all-reduce, in bytes. DDP's default is 25 MB for
 * models of hundreds of MB; ours are small (cnn-bn on MNIST: 424 KB, cut into its dense
 * layers' 400 KB and the rest). bench/src/overlap measured 16 KB and 64 KB alike within the
 * noise of a shared 2-core machine; the larger makes fewer requests on bigger models.
 */
export const DEFAULT_BUCKET_BYTES = 64 * 1024;

export interface BucketAgreement {
  communicator: ReplicaCommunicator;
  gradients: Float32Array;
  replica: Replica;
  /** SyncBN's group: a completed bucket starts after its next collective (see `BucketedAllReduce`). */
  bnGroup: TimedBatchNormGroup;
  /** 0: this rank asks for no overlap. */
  bucketBytes: number;
}

/**
 * The bucketed all-reduce, if every rank of the ring can overlap (an all-reduce that
 * returns at once, gradients delivered during backward) and none asks not to: all ranks
 * must cut the same buckets (of the largest size any asks for) and start them between
 * the same SyncBN collectives, or none may. One small collective, on every rank together.
 */
export function agreeOnBuckets(a: BucketAgreement): BucketedAllReduce | undefined {
  const { communicator, gradients, replica, bnGroup } = a;
  bnGroup.afterCollective = () => undefined;
  if (communicator.overlapsAllReduce === undefined || communicator.allReduceStart === undefined) return undefined;
  const can = a.bucketBytes > 0 && communicator.overlapsAllReduce(gradients) && replica.capturesGradients();
  // Whether backward runs collectives here (SyncBN in a group of several ranks).
  const collectives = bnGroup.size > 1 && syncBatchNormLayers(replica.model).length > 0;
  const agreed = new Float32Array([can ? 0 : 1, a.bucketBytes, collectives ? 1 : 0]);
  communicator.allReduce(agreed, 'max');
  if (agreed[0] !== 0) return undefined;
  const sizes = replica.trainableVariables.map((v) => v.size);
  const starter = { allReduceStart: communicator.allReduceStart.bind(communicator) };
  const overlap = new BucketedAllReduce(planBuckets(sizes, agreed[1] as number), gradients, starter, agreed[2] !== 0);
  bnGroup.afterCollective = () => overlap.event();
  return overlap;
}

/** TFJS_DDP_TEST_BUCKET_BYTES: the overlapped all-reduce's bucket size (0: no overlap), for tests, tuning and benchmarks. */
export const BUCKET_BYTES_ENV = 'TFJS_DDP_TEST_BUCKET_BYTES';

export function bucketBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[BUCKET_BYTES_ENV];
  if (raw === undefined || raw === '') return undefined;
  const bytes = Number(raw);
  if (!Number.isInteger(bytes) || bytes < 0) {
    const value = JSON.stringify(raw.slice(0, 32));
    throw new TrainerError('TRAINER_ERR_BAD_OPTION', `${BUCKET_BYTES_ENV} must be a whole number of bytes (0: no overlap), got ${value}`);
  }
  return bytes;
}

/**
 * TFJS_DDP_TEST_STEP_TRACE=<file>: every rank appends a JSON line per step to the file —
 * when its backward ended and its gradient all-reduce was done (epoch ms, comparable across
 * the processes of one machine), and when its buckets started — so that bench/src/overlap
 * can tell the all-reduce's own time after backward from the wait for the slowest rank.
 */
export const STEP_TRACE_ENV = 'TFJS_DDP_TEST_STEP_TRACE';

export function stepTraceFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env[STEP_TRACE_ENV];
  return file === undefined || file === '' ? undefined : file;
}

/** One step's line (`backwardEnd`, `reduced`: performance.now() here, epoch ms in the file). */
export function writeStepTrace(file: string, step: { rank: number; step: number; backwardEnd: number; reduced: number; overlap?: OverlapReport }): void {
  const at = (t: number): number => Math.round((performance.timeOrigin + t) * 1000) / 1000;
  appendFileSync(file, `${JSON.stringify({ ...step, backwardEnd: at(step.backwardEnd), reduced: at(step.reduced) })}\n`);
}

/**
 * The gradient buffer, in the thread group's shared memory when it fits (the all-reduce
 * then works on it in place, no copy in and out), else an ordinary array.
 */
export function gradientBuffer(communicator: ReplicaCommunicator, length: number): Float32Array {
  try {
    return communicator.allocShared(length);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'COLL_ERR_ARGUMENT') throw error;
    return new Float32Array(length);
  }
}
