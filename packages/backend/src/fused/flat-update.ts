import * as tf from '@tensorflow/tfjs';
import { heapAddress, type WasmKernelBackend } from '../kernels/wasm-backend.js';
import { BackendError } from '../errors.js';
import { activeWasmHeap, HeapFloats, livesOn, ownsItsData, type WasmHeap } from './heap.js';

/** The update rules of @tfjs-ddp/trainer's optimizers (src/optimizers.ts), with their constants. */
export type FlatUpdateRule =
  | { kind: 'sgd' }
  | { kind: 'momentum'; momentum: number; nesterov: boolean }
  | { kind: 'adam'; beta1: number; beta2: number; epsilon: number };

/** The tensors an update writes, all float32 variables. */
export interface FlatUpdateTensors {
  /** The trained variables, in the order of the flat gradient. */
  variables: readonly tf.Variable[];
  /** momentum: one accumulation per variable; adam: every first moment, then every second moment; sgd: none. */
  slots: readonly tf.Variable[];
  /** adam: the scalars beta1^t and beta2^t; else none. */
  powers: readonly tf.Variable[];
}

/** One step's numbers. */
export interface FlatUpdateStep {
  learningRate: number;
  /** Decoupled weight decay (0: none). */
  weightDecay: number;
  /** Samples the gradient was summed over: it is divided by this. */
  count: number;
  /** Global-norm clipping factor: applied when < 1. */
  scale: number;
}

/**
 * An optimizer's whole update in one C pass per variable on the wasm heap, from the flat
 * gradient summed over the batch: no tfjs op. The same float32 operations as the tfjs ops
 * of trainer's optimizers, in the same order, so results are equal to the bit (its tests
 * compare them).
 *
 * Each new weight goes to new memory that the variable is assigned, as tfjs's own
 * optimizers do: tfjs-backend-wasm caches XNNPACK operators (matMul, conv) with the
 * weights baked in, keyed by the weight's tensor and dropped when it is disposed, so a
 * weight changed in place would leave them stale. The optimizer's own state (moments,
 * accumulations, beta powers), which no such kernel reads, is updated in place.
 *
 * `apply` refuses (returns false, changing nothing) when the active backend is not wasm,
 * a variable's data is still on another backend, or a state variable shares its data with
 * another tensor: the caller then takes the tfjs path.
 */
export class WasmFlatUpdate {
  readonly rule: FlatUpdateRule;
  readonly tensors: FlatUpdateTensors;
  readonly size: number;
  /** The gradient's copy on the heap, per backend (one in practice). */
  private staging: HeapFloats | undefined;

  constructor(rule: FlatUpdateRule, tensors: FlatUpdateTensors) {
    const { variables, slots, powers } = tensors;
    const slotsPerVariable = rule.kind === 'sgd' ? 0 : rule.kind === 'momentum' ? 1 : 2;
    if (slots.length !== slotsPerVariable * variables.length || powers.length !== (rule.kind === 'adam' ? 2 : 0)) {
      throw new BackendError('BACKEND_ERR_BAD_SHAPE', `a ${rule.kind} update needs ${slotsPerVariable} slot(s) per variable`);
    }
    slots.forEach((slot, i) => {
      const variable = variables[i % variables.length] as tf.Variable;
      if (slot.size !== variable.size) {
        throw new BackendError('BACKEND_ERR_BAD_SHAPE', `slot ${i} has ${slot.size} values, its variable ${variable.size}`);
      }
    });
    this.rule = rule;
    this.tensors = tensors;
    this.size = variables.reduce((n, v) => n + v.size, 0);
  }

  /** Whether `apply` would run now. */
  ready(): WasmHeap | undefined {
    const heap = activeWasmHeap();
    if (heap === undefined) return undefined;
    const { variables, slots, powers } = this.tensors;
    for (const v of variables) if (!livesOn(heap.backend, v)) return undefined;
    for (const list of [slots, powers]) {
      for (const t of list) if (!ownsItsData(heap.backend, t)) return undefined;
    }
    return heap;
  }

  /**
   * Applies the update from `summed` (the gradient summed over `step.count` samples, in
   * variable order; a plain array is copied to the heap, a HeapFloats of this backend is
   * read in place). False when it cannot run here (see the class).
   */
  apply(summed: Float32Array | HeapFloats, step: FlatUpdateStep): boolean {
    if (summed.length !== this.size) {
      throw new BackendError('BACKEND_ERR_BAD_SHAPE', `gradient holds ${summed.length} values, the variables ${this.size}`);
    }
    const heap = this.ready();
    if (heap === undefined) return false;
    const { backend, kernels } = heap;
    const { fn } = kernels;
    let gradient: HeapFloats;
    if (summed instanceof HeapFloats && summed.backend === backend) gradient = summed;
    else {
      if (this.staging?.backend !== backend) {
        this.staging?.free();
        this.staging = new HeapFloats(backend, this.size);
      }
      gradient = this.staging;
      gradient.view().set(summed instanceof HeapFloats ? summed.view() : summed);
    }
    const { learningRate, weightDecay, count, scale } = step;
    const scaled = scale < 1 ? 1 : 0;
    const decay = weightDecay > 0 ? 1 : 0;
    const negLr = -learningRate;
    const lrWd = learningRate * weightDecay;
    const { variables, slots, powers } = this.tensors;
    const rule = this.rule;
    let bc1 = 0;
    let bc2 = 0;
    if (rule.kind === 'adam') {
      bc1 = Math.fround(1 - this.scalar(backend, powers[0] as tf.Variable));
      bc2 = Math.fround(1 - this.scalar(backend, powers[1] as tf.Variable));
    }
    let offset = 0;
    variables.forEach((variable, i) => {
      const n = variable.size;
      const g = gradient.at(offset);
      offset += n;
      const info = backend.makeOutput(variable.shape, 'float32');
      const w = heapAddress(backend, variable);
      const wOut = heapAddress(backend, info);
      if (n > 0) {
        switch (rule.kind) {
          case 'sgd':
            fn.sgd_update(w, wOut, g, n, count, scaled, scale, negLr, decay, lrWd);
            break;
          case 'momentum':
            fn.momentum_update(w, wOut, heapAddress(backend, slots[i] as tf.Variable), g, n, count, scaled, scale, negLr, decay, lrWd,
              rule.momentum, rule.nesterov ? 1 : 0);
            break;
          case 'adam':
            fn.adam_update(w, wOut, heapAddress(backend, slots[i] as tf.Variable), heapAddress(backend, slots[variables.length + i] as tf.Variable),
              g, n, count, scaled, scale, negLr, decay, lrWd, rule.beta1, 1 - rule.beta1, rule.beta2, 1 - rule.beta2, bc1, bc2, rule.epsilon);
            break;
        }
      }
      const updated = tf.engine().makeTensorFromTensorInfo(info, tf.backend());
      variable.assign(updated);
      updated.dispose();
    });
    if (rule.kind === 'adam') {
      // beta^t *= beta, in float32 (the product of two float32 values is exact in a double).
      this.setScalar(backend, powers[0] as tf.Variable, this.scalar(backend, powers[0] as tf.Variable) * Math.fround(rule.beta1));
      this.setScalar(backend, powers[1] as tf.Variable, this.scalar(backend, powers[1] as tf.Variable) * Math.fround(rule.beta2));
    }
    return true;
  }

  private scalar(backend: WasmKernelBackend, t: tf.Variable): number {
    return (backend.typedArrayFromHeap(t) as Float32Array)[0] as number;
  }

  private setScalar(backend: WasmKernelBackend, t: tf.Variable, value: number): void {
    (backend.typedArrayFromHeap(t) as Float32Array)[0] = value;
  }

  dispose(): void {
    this.staging?.free();
    this.staging = undefined;
  }
}
