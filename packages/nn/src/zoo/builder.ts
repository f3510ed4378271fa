import * as tf from '@tensorflow/tfjs';
import { SampleDropout } from '../layers/sample-dropout.js';
import type { BnPlacement, ResolvedZooOptions } from './options.js';

/**
 * Builds layers with seeded initializers, a fresh seed per layer, so a model built twice
 * from one seed has identical weights (tfjs's default initializers draw unseeded).
 */
export class SeededLayers {
  private next: number;
  private dropouts = 0;
  private readonly initScale: number;
  private readonly bnMomentum: number;

  constructor(options: Pick<ResolvedZooOptions, 'seed' | 'initScale' | 'bnMomentum'>) {
    this.next = options.seed * 1000;
    this.initScale = options.initScale;
    this.bnMomentum = options.bnMomentum;
  }

  private kernelInitializer(): ReturnType<typeof tf.initializers.glorotUniform> {
    const seed = this.next++;
    // Glorot uniform is variance scaling with scale 1 (fan average, uniform); scale s^2
    // draws the same uniforms with an s times wider limit, i.e. the same kernel times s.
    if (this.initScale === 1) return tf.initializers.glorotUniform({ seed });
    return tf.initializers.varianceScaling({ scale: this.initScale * this.initScale, mode: 'fanAvg', distribution: 'uniform', seed });
  }

  conv2d(args: {
    filters: number;
    kernelSize: number;
    strides?: number;
    useBias?: boolean;
    activation?: 'relu' | 'linear';
    inputShape?: number[];
  }): tf.layers.Layer {
    return tf.layers.conv2d({
      ...(args.inputShape === undefined ? {} : { inputShape: args.inputShape }),
      filters: args.filters,
      kernelSize: args.kernelSize,
      strides: args.strides ?? 1,
      padding: 'same',
      useBias: args.useBias ?? true,
      activation: args.activation ?? 'linear',
      kernelInitializer: this.kernelInitializer(),
    });
  }

  dense(units: number, activation: 'relu' | 'softmax' | 'linear' = 'linear', useBias = true): tf.layers.Layer {
    return tf.layers.dense({ units, activation, useBias, kernelInitializer: this.kernelInitializer() });
  }

  batchNorm(): tf.layers.Layer {
    return tf.layers.batchNormalization({ axis: -1, momentum: this.bnMomentum });
  }

  dropout(rate: number): tf.layers.Layer {
    return new SampleDropout({ rate, seed: this.dropouts++ });
  }

  /**
   * A weighted layer (conv or dense, created without activation) followed by BN and relu
   * in the order `placement` asks for, as a list to apply in turn.
   */
  withNormalization(makeWeighted: (activation: 'relu' | 'linear', useBias: boolean) => tf.layers.Layer, placement: BnPlacement): tf.layers.Layer[] {
    switch (placement) {
      case 'before':
        // BN's beta replaces the bias of the layer it follows.
        return [makeWeighted('linear', false), this.batchNorm(), tf.layers.activation({ activation: 'relu' })];
      case 'after':
        return [makeWeighted('relu', true), this.batchNorm()];
      case 'none':
        return [makeWeighted('relu', true)];
    }
  }
}
