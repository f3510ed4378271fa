import * as tf from '@tensorflow/tfjs';

/**
 * Receives each trainable variable's gradient as soon as backward has finished it (see
 * `Replica.computeGradientsAsync`): an all-reduce of it may start while backward goes on.
 */
export interface GradientCapture {
  /**
   * Variable `index` (of `Replica.trainableVariables`) has its final gradient in its place
   * in the gradient buffer. Called during backward, in the order backward finishes them;
   * from then on the step writes that range no more.
   */
  ready(index: number): void;
}

/** A model's trainable weights and where each one's gradient goes in the flat gradient buffer. */
export interface CapturePlan {
  /** The layers' handles of the trainable variables (same order): their reads are where gradients are captured. */
  weights: readonly tf.LayerVariable[];
  variables: readonly tf.Variable[];
  /** Start of each trainable variable in the gradient buffer. */
  offsets: readonly number[];
  /** Whether every trainable weight is a variable of its own (capture needs it). */
  distinct: boolean;
}

export function capturePlanOf(model: tf.LayersModel): CapturePlan {
  const weights = model.trainableWeights;
  const variables = weights.map((w) => w.read() as tf.Variable);
  let offset = 0;
  const offsets = variables.map((v) => (offset += v.size) - v.size);
  return { weights, variables, offsets, distinct: new Set(variables).size === variables.length };
}

/** One step's capture: the buffer, the shard's sample count, and which variables have been delivered (1). */
export interface CaptureTarget {
  out: Float32Array;
  count: number;
  captured: Uint8Array;
  capture: GradientCapture;
}

/**
 * Runs `body` (forward and backward) with every trainable weight's read — layers read
 * their weights through `LayerVariable.read()` in `call()` — wrapped in an identity
 * whose gradient is exactly that read's share of the weight's gradient. When the last
 * read's share has arrived (a weight read twice, a shared layer, gets two), the sum is
 * the gradient: it goes into `out` and `capture` is told.
 */
export function captureGradients<T>(plan: CapturePlan, target: CaptureTarget, body: () => T): T {
  const { out, count, captured, capture } = target;
  const reads = new Int32Array(plan.weights.length);
  const shares = new Int32Array(plan.weights.length);
  plan.weights.forEach((weight, i) => {
    const read = weight.read.bind(weight);
    const offset = plan.offsets[i] as number;
    const size = (plan.variables[i] as tf.Variable).size;
    const receive = (dy: tf.Tensor): void => {
      const values = dy.dataSync() as Float32Array;
      if (shares[i] === 0) out.set(values, offset);
      else for (let j = 0; j < size; j++) out[offset + j] = (out[offset + j] as number) + (values[j] as number);
      shares[i] = (shares[i] as number) + 1;
      if (shares[i] !== reads[i]) return;
      // An empty shard's gradient is zero by definition (wasm's matMul leaves garbage on empty batches).
      if (count === 0) out.fill(0, offset, offset + size);
      captured[i] = 1;
      capture.ready(i);
    };
    const identity = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.clone(args[0] as tf.Tensor),
      gradFunc: (dy: tf.Tensor) => {
        receive(dy);
        return dy;
      },
    }));
    weight.read = (): tf.Tensor => {
      reads[i] = (reads[i] as number) + 1;
      return identity(read());
    };
  });
  try {
    return body();
  } finally {
    // The layers' own read again (the prototype's).
    for (const weight of plan.weights) delete (weight as { read?: unknown }).read;
  }
}
