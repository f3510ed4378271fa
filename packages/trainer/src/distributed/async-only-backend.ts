import * as tf from '@tensorflow/tfjs';
import { readsAsyncOnly } from '@tfjs-ddp/backend';
import { syncBatchNormLayers, type BatchNormGroup } from '@tfjs-ddp/nn';
import { TrainerError } from '../errors.js';

/**
 * What a backend that reads back only asynchronously (webgpu in Node) cannot do yet,
 * refused up front with a clear error rather than tfjs's "OffscreenCanvas is not defined"
 * in the middle of the first step. The step itself reads back after backward (see
 * `settleReads`), and BN recalibration awaits each chunk's moments; but SyncBN over more
 * than one rank exchanges statistics inside the synchronous forward and backward (making
 * it wait needs the step split into segments at every BN layer).
 */
export function refuseOnAsyncOnlyBackend(model: tf.LayersModel, bnGroup: BatchNormGroup): void {
  if (syncBatchNormLayers(model).length === 0) return;
  const refusal = asyncOnlyBackendRefusal(tf.getBackend(), bnGroup.size);
  if (refusal !== undefined) throw new TrainerError('TRAINER_ERR_UNSUPPORTED_ON_BACKEND', refusal);
}

/**
 * Why a job with BN layers cannot run on `backend` with BN groups of `bnGroupSize` ranks,
 * or undefined when it can. Pure, so that a host can refuse
 * before it starts any rank: a rank thread terminated while Dawn is still creating its
 * device aborts the whole process (a napi error thrown during termination).
 */
export function asyncOnlyBackendRefusal(backend: string, bnGroupSize: number): string | undefined {
  if (!readsAsyncOnly(backend)) return undefined;
  if (bnGroupSize > 1) {
    return (
      `SyncBN across ${bnGroupSize} ranks (--bn sync or sync:K) does not run on the ${backend} backend yet: it exchanges ` +
      'statistics in the middle of forward and backward, which this backend can read back only asynchronously; use --bn local'
    );
  }
  return undefined;
}
