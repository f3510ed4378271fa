import * as tf from '@tensorflow/tfjs';
import { NnError } from './errors.js';

/** A layer as it appears in a model's JSON topology (snake_case keys, Keras style). */
export interface LayerJson {
  class_name: string;
  config: Record<string, unknown>;
  [key: string]: unknown;
}

/** Returns a replacement for a layer's JSON, or undefined to keep it. */
export type LayerRewrite = (layer: LayerJson) => LayerJson | undefined;

function rewriteTopology(node: unknown, rewrite: LayerRewrite): { node: unknown; changed: number } {
  if (Array.isArray(node)) {
    let changed = 0;
    const out = node.map((item) => {
      const r = rewriteTopology(item, rewrite);
      changed += r.changed;
      return r.node;
    });
    return { node: out, changed };
  }
  if (node === null || typeof node !== 'object') return { node, changed: 0 };
  const record = node as Record<string, unknown>;
  let changed = 0;
  let self: Record<string, unknown> = record;
  if (typeof record['class_name'] === 'string' && typeof record['config'] === 'object' && record['config'] !== null) {
    const replaced = rewrite(record as LayerJson);
    if (replaced !== undefined) {
      self = replaced;
      changed++;
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(self)) {
    const r = rewriteTopology(value, rewrite);
    changed += r.changed;
    out[key] = r.node;
  }
  return { node: out, changed };
}

/**
 * Rebuilds `model` from its JSON topology with some layers' classes or configs replaced,
 * and copies every weight across in order. The replacement must keep each layer's
 * weights (count, order and shapes), e.g. BatchNormalization <-> SyncBatchNormalization.
 * Returns `model` itself when nothing matched.
 */
export async function rewriteLayers(model: tf.LayersModel, rewrite: LayerRewrite): Promise<tf.LayersModel> {
  const topology = model.toJSON(null, false) as unknown as Record<string, unknown>;
  const { node, changed } = rewriteTopology(topology, rewrite);
  if (changed === 0) return model;
  const rebuilt = await tf.models.modelFromJSON({ modelTopology: node as tf.io.ModelJSON['modelTopology'] });
  const weights = model.getWeights();
  const target = rebuilt.weights;
  if (weights.length !== target.length) {
    rebuilt.dispose();
    throw new NnError('NN_ERR_CONVERSION', `rebuilt model has ${target.length} weights, the original ${weights.length}`);
  }
  weights.forEach((w, i) => {
    const shape = target[i]?.shape ?? [];
    if (w.shape.join(',') !== shape.join(',')) {
      throw new NnError('NN_ERR_CONVERSION', `weight ${i} has shape [${w.shape}] but the rebuilt layer expects [${shape}]`);
    }
  });
  rebuilt.setWeights(weights);
  return rebuilt;
}

const PORTABLE_CLASSES: Record<string, string> = { SampleDropout: 'Dropout' };

/** Registers another custom layer class that `toPortableModel` turns back into a tfjs one. */
export function registerPortableClass(customClassName: string, standardClassName: string): void {
  PORTABLE_CLASSES[customClassName] = standardClassName;
}

/**
 * The model with every tfjs-ddp layer replaced by its standard tfjs counterpart
 * (SampleDropout -> Dropout, SyncBatchNormalization -> BatchNormalization), so that a
 * plain `tf.loadLayersModel` opens it anywhere. Configs keep only keys the standard
 * class accepts: the custom ones add none that matter at inference.
 */
export function toPortableModel(model: tf.LayersModel): Promise<tf.LayersModel> {
  return rewriteLayers(model, (layer) => {
    const standard = PORTABLE_CLASSES[layer.class_name];
    if (standard === undefined) return undefined;
    const config = { ...layer.config };
    delete config['group'];
    delete config['sync_group'];
    if (standard === 'Dropout') delete config['seed'];
    return { ...layer, class_name: standard, config };
  });
}
