import { readFileSync } from 'node:fs';
import type { WasmKernelBackend } from './wasm-backend.js';
import { BackendError } from '../errors.js';

/**
 * The few pieces of the JavaScript WebAssembly API used here. This repository compiles
 * against ES2023 and @types/node 20, neither of which declares the `WebAssembly` global.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
export type WasmModule = object;
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => WasmMemory;
}
const WebAssemblyJs = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/**
 * The C kernels of `csrc/`, compiled to `wasm/training-kernels.wasm` and instantiated on
 * the heap of tfjs-backend-wasm itself (the module imports that memory), so they read
 * and write tensors in place: every pointer argument is a heap address (`heapAddress`).
 */
/** One NHWC convolution's shape, in the argument order of the C conv kernels (conv-geometry.ts). */
export type ConvGeometry = [
  batch: number, inH: number, inW: number, inC: number, outH: number, outW: number, fH: number, fW: number,
  sH: number, sW: number, dH: number, dW: number, padTop: number, padLeft: number,
];

export interface TrainingKernelExports {
  gemm_scratch_bytes(): number;
  gemm(m: number, n: number, k: number, a: number, rsa: number, csa: number, b: number, rsb: number, csb: number,
    c: number, ldc: number, accumulate: number, scratch: number): void;
  conv2d_forward(x: number, w: number, bias: number, ...rest: [...ConvGeometry, outC: number, relu: number, out: number,
    cols: number, blockRows: number, gemmScratch: number]): void;
  conv2d_backprop_filter(x: number, dy: number, ...rest: [...ConvGeometry, outC: number, dw: number, cols: number,
    blockRows: number, gemmScratch: number]): void;
  conv2d_backprop_input(dy: number, w: number, ...rest: [...ConvGeometry, outC: number, dx: number, cols: number,
    blockRows: number, gemmScratch: number]): void;
  depthwise_backprop_filter(x: number, dy: number, batch: number, inH: number, inW: number, inC: number, outH: number,
    outW: number, fH: number, fW: number, sH: number, sW: number, padTop: number, padLeft: number, mult: number,
    dw: number): void;
  depthwise_backprop_input(dy: number, w: number, batch: number, inH: number, inW: number, inC: number, outH: number,
    outW: number, fH: number, fW: number, sH: number, sW: number, padTop: number, padLeft: number, mult: number,
    dx: number): void;
  max_pool_grad(x: number, dy: number, ...geometryThenDx: [...ConvGeometry, number]): void;
  sum_rows(x: number, rows: number, c: number, scale: number, out: number): void;
  bn_grad_sums(dy: number, x: number, mean: number, rows: number, c: number, sumDy: number, sumDyXmu: number): void;
  bn_grad_input(dy: number, x: number, mean: number, k: number, a: number, b: number, rows: number, c: number,
    dx: number): void;
  channel_m2(x: number, mean: number, rows: number, c: number, m2: number): void;
  binary_rows(op: number, full: number, vec: number, rows: number, c: number, vecFirst: number, out: number): void;
  batch_norm(x: number, mean: number, variance: number, offset: number, scale: number, epsilon: number, rows: number,
    c: number, k: number, out: number): void;
  dense_bias_act(z: number, bias: number, rows: number, units: number, relu: number): void;
  relu_grad(dy: number, y: number, n: number): void;
  sgd_update(w: number, wOut: number, sum: number, n: number, count: number, scaled: number, scale: number, negLr: number, decay: number,
    lrWd: number): void;
  momentum_update(w: number, wOut: number, acc: number, sum: number, n: number, count: number, scaled: number, scale: number, negLr: number,
    decay: number, lrWd: number, momentum: number, nesterov: number): void;
  adam_update(w: number, wOut: number, m1: number, m2: number, sum: number, n: number, count: number, scaled: number, scale: number,
    negLr: number, decay: number, lrWd: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number,
    bc1: number, bc2: number, epsilon: number): void;
}

const EXPORT_NAMES: readonly (keyof TrainingKernelExports)[] = [
  'gemm_scratch_bytes', 'gemm', 'conv2d_forward', 'conv2d_backprop_filter', 'conv2d_backprop_input', 'depthwise_backprop_filter', 'depthwise_backprop_input',
  'max_pool_grad', 'sum_rows', 'bn_grad_sums', 'bn_grad_input', 'binary_rows', 'batch_norm',
  'channel_m2', 'dense_bias_act', 'relu_grad', 'sgd_update', 'momentum_update', 'adam_update',
];

export interface TrainingKernels {
  fn: TrainingKernelExports;
  /** Heap address of this backend's gemm scratch (packed panels), allocated once. */
  gemmScratch: number;
}

/** Where the committed binary lies: `dist/kernels/` -> `wasm/` of this package. */
export const TRAINING_WASM_URL = new URL('../../wasm/training-kernels.wasm', import.meta.url);

const DATA_SECTION = 11;
const DATA_COUNT_SECTION = 12;

function readLeb128(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    if (byte === undefined) throw new BackendError('BACKEND_ERR_KERNEL_SETUP', 'training-kernels.wasm: truncated section header');
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, at];
    shift += 7;
  }
}

/**
 * Section ids of a wasm binary. A data section would be copied over tfjs's heap at
 * instantiation, so a module that has one must never be instantiated on it.
 */
export function wasmSectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at] as number;
    const [size, next] = readLeb128(bytes, at + 1);
    ids.push(id);
    at = next + size;
  }
  return ids;
}

let compiled: WasmModule | undefined;

function compiledModule(): WasmModule {
  if (compiled === undefined) {
    const bytes = new Uint8Array(readFileSync(TRAINING_WASM_URL));
    const ids = wasmSectionIds(bytes);
    if (ids.includes(DATA_SECTION) || ids.includes(DATA_COUNT_SECTION)) {
      throw new BackendError('BACKEND_ERR_KERNEL_SETUP', `${TRAINING_WASM_URL.pathname} has a data section; it would overwrite tfjs's heap`);
    }
    // Small (tens of KB), and compiling it synchronously keeps every kernel synchronous.
    compiled = compileWasm(bytes);
  }
  return compiled;
}

/** Compiles a binary (the rebuild test compares a fresh build with the committed one). */
export function compileWasm(bytes: Uint8Array): WasmModule {
  return new WebAssemblyJs.Module(bytes);
}

/** Instantiates the module on a heap. */
export function instantiateTrainingKernels(module: WasmModule, memory: WasmMemory): TrainingKernelExports {
  const instance = new WebAssemblyJs.Instance(module, { env: { memory } });
  const fns: Partial<Record<keyof TrainingKernelExports, unknown>> = {};
  for (const name of EXPORT_NAMES) {
    const fn = instance.exports[name];
    if (typeof fn !== 'function') throw new BackendError('BACKEND_ERR_KERNEL_SETUP', `training-kernels.wasm does not export ${name}`);
    fns[name] = fn;
  }
  return fns as TrainingKernelExports;
}

export function heapMemory(backend: WasmKernelBackend): WasmMemory {
  const memory = backend.wasm.asm?.['memory'];
  if (!(memory instanceof WebAssemblyJs.Memory)) {
    throw new BackendError('BACKEND_ERR_KERNEL_SETUP', 'cannot reach the WebAssembly.Memory of tfjs-backend-wasm (backend.wasm.asm.memory)');
  }
  return memory;
}

const perBackend = new WeakMap<object, TrainingKernels>();

/** The C kernels bound to this backend's heap; instantiated on first use in each thread. */
export function trainingKernels(backend: WasmKernelBackend): TrainingKernels {
  let kernels = perBackend.get(backend);
  if (kernels === undefined) {
    const fn = instantiateTrainingKernels(compiledModule(), heapMemory(backend));
    // Lives as long as the backend: every gemm call reuses it.
    const gemmScratch = backend.wasm._malloc(fn.gemm_scratch_bytes());
    if (gemmScratch === 0) throw new BackendError('BACKEND_ERR_KERNEL_SETUP', 'could not allocate gemm scratch on the wasm heap');
    kernels = { fn, gemmScratch };
    perBackend.set(backend, kernels);
  }
  return kernels;
}
