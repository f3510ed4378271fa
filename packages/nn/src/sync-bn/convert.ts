import * as tf from '@tensorflow/tfjs';
import { registerPortableClass, rewriteLayers, toPortableModel } from '../layer-rewrite.js';
import { LOCAL_BATCH_NORM_GROUP, type BatchNormGroup } from './batch-norm-group.js';
import { SyncBatchNormalization } from './sync-batch-norm.js';

registerPortableClass(SyncBatchNormalization.className, 'BatchNormalization');

/** Every SyncBatchNormalization layer of a model, nested models included, in layer order. */
export function syncBatchNormLayers(model: tf.LayersModel): SyncBatchNormalization[] {
  const found: SyncBatchNormalization[] = [];
  const visit = (layers: tf.layers.Layer[]): void => {
    for (const layer of layers) {
      if (layer instanceof SyncBatchNormalization) found.push(layer);
      else if (layer instanceof tf.LayersModel) visit(layer.layers);
    }
  };
  visit(model.layers);
  return found;
}

/** Points every SyncBatchNormalization layer of `model` at `group`; returns how many there are. */
export function setBatchNormGroup(model: tf.LayersModel, group: BatchNormGroup): number {
  const layers = syncBatchNormLayers(model);
  for (const layer of layers) layer.setGroup(group);
  return layers.length;
}

/**
 * The model with every BatchNormalization replaced by a SyncBatchNormalization over
 * `group`, all weights (gamma, beta, moving statistics) kept. A model without BN is
 * returned as it is.
 */
export async function convertToSyncBN(model: tf.LayersModel, group: BatchNormGroup = LOCAL_BATCH_NORM_GROUP): Promise<tf.LayersModel> {
  const converted = await rewriteLayers(model, (layer) =>
    layer.class_name === 'BatchNormalization' ? { ...layer, class_name: SyncBatchNormalization.className } : undefined,
  );
  setBatchNormGroup(converted, group);
  return converted;
}

/** The model with plain tfjs BatchNormalization (and Dropout) layers, for saving and inference anywhere. */
export function convertToBatchNorm(model: tf.LayersModel): Promise<tf.LayersModel> {
  return toPortableModel(model);
}
