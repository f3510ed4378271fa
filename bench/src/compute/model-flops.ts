import type * as tf from '@tensorflow/tfjs';

/** A layer's forward multiply-adds, counted as 2 FLOPs each; 0 for a layer the count leaves out. */
function forwardFlops(layer: tf.layers.Layer, batch: number): number {
  const kind = layer.getClassName();
  // Only these have one input; a merge layer's (Add's) `input` is a list.
  if (kind !== 'Dense' && kind !== 'Conv2D' && kind !== 'DepthwiseConv2D') return 0;
  const config = layer.getConfig() as { kernelSize?: number | number[]; units?: number; filters?: number; depthMultiplier?: number };
  const input = (layer.input as tf.SymbolicTensor).shape;
  const output = (layer.output as tf.SymbolicTensor).shape;
  const inChannels = input.at(-1) ?? 0;
  const kernel = Array.isArray(config.kernelSize) ? config.kernelSize : [config.kernelSize ?? 1, config.kernelSize ?? 1];
  const [kh = 1, kw = 1] = kernel;
  const spatial = (output[1] ?? 1) * (output[2] ?? 1);
  switch (kind) {
    case 'Dense':
      return 2 * batch * inChannels * (config.units ?? 0) * (output.length === 3 ? (output[1] ?? 1) : 1);
    case 'Conv2D':
      return 2 * batch * spatial * kh * kw * inChannels * (config.filters ?? 0);
    case 'DepthwiseConv2D':
      return 2 * batch * spatial * kh * kw * inChannels * (config.depthMultiplier ?? 1);
    default:
      return 0;
  }
}

/**
 * FLOPs of one training step of `model` on `batch` samples, counting only the products of
 * dense and convolution layers (batch norm, activations, pooling and the update are a few
 * percent of a CNN's and are left out, so the figure is a floor): forward F, the weights'
 * gradient F, the input's gradient F except for the first layer, whose input needs none.
 */
export function trainingStepFlops(model: tf.LayersModel, batch: number): number {
  let total = 0;
  let first = true;
  for (const layer of model.layers) {
    const forward = forwardFlops(layer, batch);
    if (forward === 0) continue;
    total += first ? 2 * forward : 3 * forward;
    first = false;
  }
  return total;
}

/** GFLOP/s of the best of `repeats` size x size x size products on the current tfjs backend: its practical limit. */
export function tfjsMatmulPeak(tfjs: typeof tf, size: number, repeats: number): number {
  const a = tfjs.randomUniform([size, size]);
  const b = tfjs.randomUniform([size, size]);
  let best = Infinity;
  for (let i = 0; i <= repeats; i++) {
    const started = performance.now();
    const product = tfjs.matMul(a, b);
    product.dataSync();
    const seconds = (performance.now() - started) / 1000;
    product.dispose();
    // The first product warms the kernel up.
    if (i > 0) best = Math.min(best, seconds);
  }
  tfjs.dispose([a, b]);
  return (2 * size ** 3) / best / 1e9;
}
