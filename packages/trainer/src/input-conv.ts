import * as tf from '@tensorflow/tfjs';

/** The fields of tfjs-layers' Conv2D that its call reads (public on the class, untyped in the Layer API). */
interface Conv2DFields {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  strides: [number, number];
  padding: string;
  dataFormat: string;
  dilationRate: number | number[];
  activation: { apply(x: tf.Tensor): tf.Tensor };
  rank: number;
}

type Conv2DLayer = tf.layers.Layer & Conv2DFields;

/** The model's input as the symbolic tensor its first layers read. */
function readsModelInput(layer: tf.layers.Layer, model: tf.LayersModel): boolean {
  const nodes = (layer as unknown as { inboundNodes: { inputTensors: unknown[] }[] }).inboundNodes;
  return nodes.length === 1 && nodes[0]?.inputTensors.length === 1 && nodes[0].inputTensors[0] === model.inputs[0];
}

function isPlainConv2D(layer: tf.layers.Layer): layer is Conv2DLayer {
  if (layer.getClassName() !== 'Conv2D') return false;
  const conv = layer as Conv2DLayer;
  const dilations = typeof conv.dilationRate === 'number' ? [conv.dilationRate] : conv.dilationRate;
  return conv.rank === 2 && conv.dataFormat === 'channelsLast' && (conv.padding === 'same' || conv.padding === 'valid') && dilations.every((d) => d === 1);
}

/**
 * Conv2D layers that read the model's input stop computing that input's gradient, which
 * nothing uses. tfjs-layers' Conv2D calls tf.fused.conv2d, whose gradient (a customGrad)
 * computes the input's gradient eagerly together with the filter's: on the first layer a
 * whole transposed convolution per step for nothing (1.9 ms of cnn-bn's ~25 ms step at
 * batch 64 on wasm). Such a layer's call becomes the same convolution through tf.conv2d,
 * whose gradient tfjs evaluates per input (its tape asks only for the filter's), then the
 * bias add and the activation: the forward values and the weights' gradients are the same.
 * Returns the number of layers changed.
 */
export function skipInputGradient(model: tf.LayersModel): number {
  let changed = 0;
  for (const layer of model.layers) {
    if (!isPlainConv2D(layer) || !readsModelInput(layer, model)) continue;
    const conv = layer;
    conv.call = (inputs: tf.Tensor | tf.Tensor[]): tf.Tensor =>
      tf.tidy(() => {
        const x = Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
        const pad = conv.padding === 'same' ? 'same' : 'valid';
        let y: tf.Tensor = tf.conv2d(x as tf.Tensor4D, conv.kernel.read() as tf.Tensor4D, conv.strides, pad, 'NHWC');
        if (conv.bias !== null) y = tf.add(y, conv.bias.read());
        return conv.activation.apply(y);
      });
    changed++;
  }
  return changed;
}
