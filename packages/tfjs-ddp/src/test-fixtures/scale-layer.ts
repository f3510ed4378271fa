import * as tf from '@tensorflow/tfjs';

/** A user's own layer for the tests: multiplies its input by a constant factor. Registered on import. */
export class ScaleLayer extends tf.layers.Layer {
  static readonly className = 'ScaleLayer';
  private readonly factor: number;

  constructor(config: { factor: number; name?: string }) {
    super(config);
    this.factor = config.factor;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.mul(Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs, this.factor);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), factor: this.factor };
  }
}

tf.serialization.registerClass(ScaleLayer);
