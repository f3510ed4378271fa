import * as tf from '@tensorflow/tfjs';
import { WasmDenseStack, type DenseStackLayer, type HeapFloats } from '@tfjs-ddp/backend';
import type { LossName } from '@tfjs-ddp/protocol';
import type { CapturePlan } from './gradient-capture.js';

/**
 * The fused training step of a plain dense stack on the wasm backend: forward, loss and
 * backward of `Replica.computeGradients` without tfjs's engine (no tape, no tensors, no
 * per-op dispatch), on @tfjs-ddp/backend's WasmDenseStack. About 60% of a small model's
 * step went to that per-op overhead (issue 18).
 *
 * A plain dense stack: a chain of Flatten / Reshape and Dense layers with relu or linear
 * activations, the last one softmax or linear, bias or not, no regularizer; trained with
 * categorical cross-entropy or mean squared error. Anything else (BN, dropout, other
 * layers, a shared layer, a non-trainable layer, binary cross-entropy, another backend)
 * takes the tfjs path. The loss head reproduces losses.ts's formula and the gradient tfjs
 * derives from it op by op, in float32 (normalization, epsilon clipping and its zero
 * gradient outside [eps, 1 - eps] included), so both paths train alike to float rounding.
 */

type HeadActivation = 'softmax' | 'linear';

interface DensePlan {
  layers: DenseStackLayer[];
  head: HeadActivation;
  loss: 'categorical-crossentropy' | 'mean-squared-error';
}

const PASSTHROUGH = new Set(['Flatten', 'Reshape']);

/**
 * Why a model is no plain dense stack, or its plan (the layers and their gradients' offsets,
 * from the replica's layout of the flat gradient buffer, `gradients`).
 */
export function densePlan(model: tf.LayersModel, gradients: CapturePlan, loss: LossName): DensePlan | string {
  if (loss !== 'categorical-crossentropy' && loss !== 'mean-squared-error') return `loss ${loss}`;
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return 'not one input and one output';
  const offsets = new Map<tf.Variable, number>(gradients.variables.map((v, i) => [v, gradients.offsets[i] as number]));
  let expected = model.inputs[0] as tf.SymbolicTensor;
  const layers: DenseStackLayer[] = [];
  const activations: string[] = [];
  let covered = 0;
  for (const layer of model.layers) {
    const className = layer.getClassName();
    if (className === 'InputLayer') {
      if (layer.output !== expected) return `input layer ${layer.name} is not the model's input`;
      continue;
    }
    if (layer.inboundNodes.length !== 1) return `layer ${layer.name} is applied ${layer.inboundNodes.length} times`;
    if (layer.input !== expected) return `layer ${layer.name} does not follow the previous layer`;
    expected = layer.output as tf.SymbolicTensor;
    if (PASSTHROUGH.has(className)) {
      if (layer.trainableWeights.length > 0 || layer.nonTrainableWeights.length > 0) return `layer ${layer.name} has weights`;
      continue;
    }
    if (className !== 'Dense') return `layer ${layer.name} is a ${className}`;
    const config = layer.getConfig() as Record<string, unknown>;
    for (const key of ['kernelRegularizer', 'biasRegularizer', 'activityRegularizer']) {
      if (config[key] !== null && config[key] !== undefined) return `layer ${layer.name} has a ${key}`;
    }
    const shape = (layer.input as tf.SymbolicTensor).shape;
    const inputs = shape[1];
    const units = config['units'];
    if (shape.length !== 2 || typeof inputs !== 'number' || typeof units !== 'number') return `layer ${layer.name} is not [batch, features] -> [batch, units]`;
    const activation = typeof config['activation'] === 'string' ? config['activation'] : 'linear';
    activations.push(activation);
    if (!layer.trainable || layer.nonTrainableWeights.length > 0) return `layer ${layer.name} is not trainable`;
    const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const useBias = config['useBias'] !== false;
    const [kernel, bias] = weights;
    if (kernel === undefined || weights.length !== (useBias ? 2 : 1) || kernel.size !== inputs * units || (bias !== undefined && bias.size !== units)) {
      return `layer ${layer.name} has unexpected weights`;
    }
    const kernelOffset = offsets.get(kernel);
    const biasOffset = bias === undefined ? undefined : offsets.get(bias);
    if (kernelOffset === undefined || (bias !== undefined && biasOffset === undefined)) {
      return `layer ${layer.name}'s weights are not trainable variables of the replica`;
    }
    if (kernel.dtype !== 'float32' || (bias !== undefined && bias.dtype !== 'float32')) return `layer ${layer.name} is not float32`;
    covered += weights.length;
    layers.push({ inputs, units, relu: activation === 'relu', kernel, bias, kernelOffset, biasOffset });
  }
  if (expected !== model.outputs[0]) return 'the last layer is not the output';
  if (layers.length === 0) return 'no dense layer';
  if (covered !== gradients.variables.length) return 'trainable variables outside the dense layers';
  const head = activations.at(-1);
  if (activations.slice(0, -1).some((a) => a !== 'relu' && a !== 'linear')) return `hidden activations ${activations.slice(0, -1).join(', ')}`;
  if (head !== 'softmax' && head !== 'linear') return `output activation ${head}`;
  // The stack applies hidden relus; the head applies the last layer's softmax.
  return { layers, head, loss };
}

/** What the fused step leaves for the replica: the shard's summed loss and correct count. */
export interface DenseStepResult {
  lossSum: number;
  correct: number;
}

/**
 * The loss head on the last layer's pre-activation z [rows, units]: sums the per-sample
 * loss and counts correct predictions, and writes d(summed loss)/dz into `dz`. Every
 * intermediate rounded to float32 like the tfjs ops it mirrors (see losses.ts).
 */
export function denseLossHead(
  loss: DensePlan['loss'], head: HeadActivation, z: Float32Array, rows: number, units: number, labels: Int32Array, epsilon: number, dz: Float32Array,
): DenseStepResult {
  const f = Math.fround;
  const p = new Float64Array(units);
  const dp = new Float64Array(units);
  const eps = f(epsilon);
  const oneMinusEps = f(1 - epsilon);
  const invUnits = f(1 / units);
  let lossSum = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const row = r * units;
    const label = labels[r] as number;
    // The output y: softmax as tfjs's cpu kernel computes it (exp(z - max) / sum), or z itself.
    if (head === 'softmax') {
      let max = -Infinity;
      for (let j = 0; j < units; j++) max = Math.max(max, z[row + j] as number);
      let sum = 0;
      for (let j = 0; j < units; j++) {
        const e = f(Math.exp(f((z[row + j] as number) - max)));
        p[j] = e;
        sum += e;
      }
      const total = f(sum);
      for (let j = 0; j < units; j++) p[j] = f((p[j] as number) / total);
    } else {
      for (let j = 0; j < units; j++) p[j] = z[row + j] as number;
    }
    // tf.argMax: the first largest.
    let best = 0;
    for (let j = 1; j < units; j++) if ((p[j] as number) > (p[best] as number)) best = j;
    if (best === label) correct++;
    if (loss === 'categorical-crossentropy') {
      // normalized = y / sum(y); clipped = clip(normalized, eps, 1 - eps); loss = -sum(t * log(clipped)).
      let sum = 0;
      for (let j = 0; j < units; j++) sum += p[j] as number;
      const s = f(sum);
      let weighted = 0;
      for (let j = 0; j < units; j++) {
        const normalized = f((p[j] as number) / s);
        const clipped = normalized > oneMinusEps ? oneMinusEps : normalized < eps ? eps : normalized;
        const target = j === label ? 1 : 0;
        if (target !== 0) lossSum -= f(Math.log(clipped));
        // d/d(log clipped) = -t; d/d clipped = -t / clipped; clip passes it only inside [eps, 1 - eps].
        const dClipped = f(-target / clipped);
        const dNormalized = normalized >= eps && normalized <= oneMinusEps ? dClipped : 0;
        dp[j] = dNormalized;
        weighted += f(dNormalized * (p[j] as number));
      }
      // Division's gradient: d/dy = dn / s, and d/ds = -sum(dn * y) / s^2, broadcast back to every unit by the sum.
      const ds = -f(f(weighted) / f(s * s));
      for (let j = 0; j < units; j++) dp[j] = f(f((dp[j] as number) / s) + ds);
    } else {
      // mean((y - t)^2): d/dy = (1 / units) * 2 (y - t).
      let sum = 0;
      for (let j = 0; j < units; j++) {
        const diff = f((p[j] as number) - (j === label ? 1 : 0));
        sum += f(diff * diff);
        dp[j] = f(invUnits * f(diff * 2));
      }
      lossSum += f(f(sum) / units);
    }
    if (head === 'softmax') {
      // Softmax's gradient: dy * y - sum(dy * y) * y.
      let sum = 0;
      for (let j = 0; j < units; j++) sum += f((dp[j] as number) * (p[j] as number));
      const s = f(sum);
      for (let j = 0; j < units; j++) dz[row + j] = f(f((dp[j] as number) * (p[j] as number)) - f(s * (p[j] as number)));
    } else {
      for (let j = 0; j < units; j++) dz[row + j] = dp[j] as number;
    }
  }
  return { lossSum: f(lossSum), correct };
}

/** The fused step of one replica's model, or nothing where the model is not a plain dense stack. */
export class DenseStep {
  readonly plan: DensePlan;
  private readonly gradientSize: number;
  private stack: WasmDenseStack | undefined;

  private constructor(plan: DensePlan, gradientSize: number) {
    this.plan = plan;
    this.gradientSize = gradientSize;
  }

  /** The step for `model`, or undefined when it is no plain dense stack (see `densePlan`). */
  static of(model: tf.LayersModel, gradients: CapturePlan, gradientSize: number, loss: LossName): DenseStep | undefined {
    const plan = densePlan(model, gradients, loss);
    if (typeof plan === 'string') return undefined;
    return new DenseStep(plan, gradientSize);
  }

  /** The stack on the active backend, when it is wasm and holds the weights; else undefined. */
  private activeStack(): WasmDenseStack | undefined {
    if (this.stack?.ready()) return this.stack;
    if (tf.getBackend() !== 'wasm') return undefined;
    // Built for another backend instance (or not yet): build it for this one.
    this.stack?.dispose();
    this.stack = WasmDenseStack.create(this.plan.layers, this.gradientSize);
    return this.stack?.ready() ? this.stack : undefined;
  }

  /**
   * Gradients of a shard summed over its samples, into `out` (and left on the heap, see
   * `heapGradients`); undefined when the fused step cannot run here (nothing written).
   */
  run(x: Float32Array, labels: Int32Array, count: number, out: Float32Array): DenseStepResult | undefined {
    if (count < 1 || labels.length !== count) return undefined;
    const stack = this.activeStack();
    if (stack === undefined || x.length !== count * stack.inputSize) return undefined;
    const output = stack.forward(x, count);
    const result = denseLossHead(this.plan.loss, this.plan.head, output, count, stack.outputSize, labels, tf.backend().epsilon(), stack.outputGradient());
    stack.backward(out);
    return result;
  }

  /** The last `run`'s gradients on the wasm heap (what `out` received). */
  heapGradients(): HeapFloats | undefined {
    return this.stack?.gradients;
  }

  dispose(): void {
    this.stack?.dispose();
    this.stack = undefined;
  }
}
