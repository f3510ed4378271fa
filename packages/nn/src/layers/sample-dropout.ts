import * as tf from '@tensorflow/tfjs';
import { hashSeeds, mix32 } from '@tfjs-ddp/data';
import { NnError } from '../errors.js';
import { currentDropoutContext } from './dropout-context.js';

export interface SampleDropoutLayerArgs {
  /** Fraction of the inputs to drop, in [0, 1). */
  rate: number;
  /** Distinguishes the masks of several dropout layers of one model. Default 0. */
  seed?: number;
  name?: string;
  trainable?: boolean;
  inputShape?: tf.Shape;
  batchInputShape?: tf.Shape;
}

/**
 * Dropout whose mask for a sample is a pure function of (run seed, step, layer seed,
 * global sample index, element), read from the dropout context. Same scaling as tfjs's
 * `Dropout` (kept inputs are divided by 1 - rate); identity at inference. It saves as a
 * plain `Dropout` layer (see `toPortableModel`).
 */
export class SampleDropout extends tf.layers.Layer {
  static className = 'SampleDropout';
  readonly rate: number;
  readonly seed: number;

  constructor(args: SampleDropoutLayerArgs) {
    super(args);
    if (!(args.rate >= 0 && args.rate < 1)) throw new RangeError(`SampleDropout rate must be in [0, 1), got ${args.rate}`);
    this.rate = args.rate;
    this.seed = args.seed ?? 0;
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (x === undefined) throw new NnError('NN_ERR_BAD_INPUT', 'SampleDropout needs one input');
    const context = currentDropoutContext();
    if (!kwargs.training || this.rate === 0 || context === undefined) return tf.clone(x);
    const batch = x.shape[0] ?? 0;
    if (context.sampleIndices.length !== batch) {
      throw new NnError('NN_ERR_BAD_INPUT', `dropout context has ${context.sampleIndices.length} sample indices for a batch of ${batch}`);
    }
    const perSample = batch === 0 ? 0 : x.size / batch;
    const mask = new Float32Array(x.size);
    const keepScale = 1 / (1 - this.rate);
    // Compare 32-bit hashes against an integer threshold: exact, no float rounding.
    const threshold = Math.floor(this.rate * 4294967296);
    const stepSeed = hashSeeds(context.runSeed, context.step, this.seed);
    for (let i = 0; i < batch; i++) {
      const sampleSeed = hashSeeds(stepSeed, context.sampleIndices[i] as number);
      const base = i * perSample;
      for (let j = 0; j < perSample; j++) {
        if (mix32(sampleSeed + Math.imul(j, 0x9e3779b1)) >= threshold) mask[base + j] = keepScale;
      }
    }
    return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape, 'float32')));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
tf.serialization.registerClass(SampleDropout);
