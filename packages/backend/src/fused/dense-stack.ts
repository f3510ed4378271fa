import type * as tf from '@tensorflow/tfjs';
import { heapAddress } from '../kernels/wasm-backend.js';
import { BackendError } from '../errors.js';
import { activeWasmHeap, HeapFloats, livesOn, type WasmHeap } from './heap.js';

/** One dense layer of a stack: y = act(x · kernel + bias), x [rows, inputs], kernel [inputs, units]. */
export interface DenseStackLayer {
  inputs: number;
  units: number;
  /** relu, or linear (also the last layer's, whose softmax, if any, the caller's loss head applies). */
  relu: boolean;
  kernel: tf.Tensor;
  bias?: tf.Tensor | undefined;
  /** Where d/d(kernel) and d/d(bias) go in the flat gradient buffer, in floats. */
  kernelOffset: number;
  biasOffset?: number | undefined;
}

/**
 * A whole training step of a stack of dense layers on the wasm heap, with no tfjs op and
 * no tensor: forward (the C gemm, then bias and relu in one pass), the caller's loss head
 * on the last layer's output, and backward (weight gradients straight into a flat gradient
 * buffer on the heap, bias gradients as row sums, the input gradient through the relu
 * mask). Scratch is allocated once per batch size and reused; the weights are read where
 * tfjs keeps them, so assign/setWeights between steps are seen.
 *
 * The gradient buffer's layout is the caller's (the offsets of each layer); values at
 * offsets no layer writes are left as they were (zero).
 */
export class WasmDenseStack {
  readonly layers: readonly DenseStackLayer[];
  readonly gradientSize: number;
  private readonly heap: WasmHeap;
  /** Flat gradient, `gradientSize` floats. */
  readonly gradients: HeapFloats;
  private capacity = 0;
  /** [x, h1, ..., hL, two gradient buffers], each `capacity` rows. */
  private scratch: HeapFloats | undefined;
  private offsets: number[] = [];
  private rows = 0;

  private constructor(heap: WasmHeap, layers: readonly DenseStackLayer[], gradientSize: number) {
    this.heap = heap;
    this.layers = layers;
    this.gradientSize = gradientSize;
    this.gradients = new HeapFloats(heap.backend, gradientSize);
    this.gradients.view().fill(0);
  }

  /** A stack on the active backend's heap; undefined when the active backend is not wasm. */
  static create(layers: readonly DenseStackLayer[], gradientSize: number): WasmDenseStack | undefined {
    if (layers.length === 0) throw new BackendError('BACKEND_ERR_BAD_SHAPE', 'a dense stack needs at least one layer');
    layers.forEach((layer, i) => {
      const previous = layers[i - 1];
      if (previous !== undefined && previous.units !== layer.inputs) {
        throw new BackendError('BACKEND_ERR_BAD_SHAPE', `dense layer ${i} takes ${layer.inputs} inputs, layer ${i - 1} gives ${previous.units}`);
      }
      const ends = [layer.kernelOffset + layer.inputs * layer.units, ...(layer.bias === undefined ? [] : [(layer.biasOffset ?? -1) + layer.units])];
      if (layer.kernelOffset < 0 || (layer.bias !== undefined && (layer.biasOffset ?? -1) < 0) || ends.some((end) => end > gradientSize)) {
        throw new BackendError('BACKEND_ERR_BAD_SHAPE', `dense layer ${i}'s gradients do not fit a buffer of ${gradientSize}`);
      }
    });
    const heap = activeWasmHeap();
    return heap === undefined ? undefined : new WasmDenseStack(heap, layers, gradientSize);
  }

  /** Whether a step can run now: the stack's backend is the active one and holds every weight. */
  ready(): boolean {
    const heap = activeWasmHeap();
    if (heap?.backend !== this.heap.backend) return false;
    return this.layers.every((l) => livesOn(heap.backend, l.kernel) && (l.bias === undefined || livesOn(heap.backend, l.bias)));
  }

  get inputSize(): number {
    return (this.layers[0] as DenseStackLayer).inputs;
  }

  get outputSize(): number {
    return (this.layers.at(-1) as DenseStackLayer).units;
  }

  private ensureCapacity(rows: number): void {
    if (rows <= this.capacity && this.scratch !== undefined) return;
    this.scratch?.free();
    this.scratch = undefined;
    const widths = [this.inputSize, ...this.layers.map((l) => l.units)];
    const widest = Math.max(...widths);
    // Every buffer starts on a 16-byte boundary.
    const padded = (n: number): number => Math.ceil(n / 4) * 4;
    this.offsets = [];
    let total = 0;
    for (const width of [...widths, widest, widest]) {
      this.offsets.push(total);
      total += padded(rows * width);
    }
    this.scratch = new HeapFloats(this.heap.backend, total);
    this.capacity = rows;
  }

  private buffer(index: number): number {
    return (this.scratch as HeapFloats).at(this.offsets[index] as number);
  }

  /**
   * Forward on `rows` samples of `x` ([rows, inputSize] flattened): returns a view of the
   * last layer's output [rows, outputSize] (x · W + b, relu when the layer's is; its
   * softmax is the caller's). Valid until the next call on this stack.
   */
  forward(x: Float32Array, rows: number): Float32Array {
    if (!Number.isInteger(rows) || rows < 1) throw new BackendError('BACKEND_ERR_BAD_SHAPE', `a dense stack step needs at least one row, got ${rows}`);
    if (x.length < rows * this.inputSize) {
      throw new BackendError('BACKEND_ERR_BAD_SHAPE', `input holds ${x.length} values, ${rows} rows need ${rows * this.inputSize}`);
    }
    this.ensureCapacity(rows);
    this.rows = rows;
    const scratch = this.scratch as HeapFloats;
    scratch.view(this.offsets[0], rows * this.inputSize).set(x.length === rows * this.inputSize ? x : x.subarray(0, rows * this.inputSize));
    const { backend, kernels } = this.heap;
    const { fn, gemmScratch } = kernels;
    this.layers.forEach((layer, i) => {
      const input = this.buffer(i);
      const output = this.buffer(i + 1);
      const { inputs, units } = layer;
      fn.gemm(rows, units, inputs, input, inputs, 1, heapAddress(backend, layer.kernel), units, 1, output, units, 0, gemmScratch);
      const bias = layer.bias === undefined ? 0 : heapAddress(backend, layer.bias);
      if (bias !== 0 || layer.relu) fn.dense_bias_act(output, bias, rows, units, layer.relu ? 1 : 0);
    });
    return scratch.view(this.offsets[this.layers.length], rows * this.outputSize);
  }

  /** Where the caller writes d(loss)/d(last layer's output) [rows, outputSize] after `forward`, before `backward`. */
  outputGradient(): Float32Array {
    const last = this.layers.length + 1;
    return (this.scratch as HeapFloats).view(this.offsets[last], this.rows * this.outputSize);
  }

  /**
   * Backward from `outputGradient()` through every layer of the last `forward`: writes the
   * gradients into `gradients` (on the heap), and copies them to `out` when given.
   */
  backward(out?: Float32Array): void {
    const rows = this.rows;
    if (rows === 0 || this.scratch === undefined) throw new BackendError('BACKEND_ERR_BAD_SHAPE', 'dense stack: backward before forward');
    const { backend, kernels } = this.heap;
    const { fn, gemmScratch } = kernels;
    const count = this.layers.length;
    let dy = this.buffer(count + 1);
    let spare = this.buffer(count + 2);
    for (let i = count - 1; i >= 0; i--) {
      const layer = this.layers[i] as DenseStackLayer;
      const { inputs, units } = layer;
      const input = this.buffer(i);
      // dW [inputs, units] = inputᵀ · dy
      fn.gemm(inputs, units, rows, input, 1, inputs, dy, units, 1, this.gradients.at(layer.kernelOffset), units, 0, gemmScratch);
      if (layer.bias !== undefined) fn.sum_rows(dy, rows, units, 1, this.gradients.at(layer.biasOffset as number));
      if (i === 0) break;
      // d(input) [rows, inputs] = dy · Wᵀ, then through the previous layer's relu.
      fn.gemm(rows, inputs, units, dy, units, 1, heapAddress(backend, layer.kernel), 1, units, spare, inputs, 0, gemmScratch);
      if ((this.layers[i - 1] as DenseStackLayer).relu) fn.relu_grad(spare, input, rows * inputs);
      [dy, spare] = [spare, dy];
    }
    out?.set(this.gradients.view());
  }

  dispose(): void {
    this.scratch?.free();
    this.scratch = undefined;
    this.capacity = 0;
    this.gradients.free();
  }
}
