import * as tf from '@tensorflow/tfjs';
import { readsAsyncOnly } from '@tfjs-ddp/backend';
import { syncBatchNormLayers, type BatchNormGroup } from '@tfjs-ddp/nn';
import { bnRecalibrateMode } from '../bn-recalibration.js';
import { TrainerError } from '../errors.js';
import type { TrainConfig } from '../train-config.js';

/**
 * What a backend that reads back only asynchronously (webgpu in Node) cannot do yet,
 * refused up front with a clear error rather than tfjs's "OffscreenCanvas is not defined"
 * in the middle of the first step. The step itself reads back after backward (see
 * `settleReads`); these read in the middle of a synchronous forward or backward:
 * - SyncBN over more than one rank exchanges statistics inside the forward and backward
 *   (making it wait needs the step split into segments at every BN layer);
 * - precise BN (`--bn-recalibrate epoch|end`) reads each layer's moments between forwards.
 */
export function refuseOnAsyncOnlyBackend(model: tf.LayersModel, bnGroup: BatchNormGroup, config: TrainConfig): void {
  const backend = tf.getBackend();
  if (!readsAsyncOnly(backend)) return;
  const layers = syncBatchNormLayers(model).length;
  if (layers === 0) return;
  if (bnGroup.size > 1) {
    throw new TrainerError(
      'TRAINER_ERR_UNSUPPORTED_ON_BACKEND',
      `SyncBN across ${bnGroup.size} ranks (--bn sync or sync:K) does not run on the ${backend} backend yet: it exchanges ` +
        'statistics in the middle of forward and backward, which this backend can read back only asynchronously; use --bn local',
    );
  }
  const recalibrate = bnRecalibrateMode(config);
  if (recalibrate !== 'off') {
    throw new TrainerError(
      'TRAINER_ERR_UNSUPPORTED_ON_BACKEND',
      `BN recalibration (--bn-recalibrate ${recalibrate}, the default is epoch) does not run on the ${backend} backend yet: ` +
        'it reads every layer\'s statistics back synchronously; use --bn-recalibrate off',
    );
  }
}
