import { BatchMatMul, broadcast_util } from '@tensorflow/tfjs';
import type { BatchMatMulAttrs, KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { trainingKernels } from './training-module.js';
import { heapAddress, requireFloat32, requireInput, sizeOf, type WasmKernelBackend } from './wasm-backend.js';
import { BackendError } from '../errors.js';

/** Index into a batch of `shape` (batch dims only) of the element at `outIndex` of the broadcast batch `outShape`. */
function broadcastIndex(outIndex: number, outShape: readonly number[], shape: readonly number[]): number {
  let index = 0;
  let stride = 1;
  let rest = outIndex;
  for (let d = outShape.length - 1, s = shape.length - 1; d >= 0; d--, s--) {
    const outDim = outShape[d] as number;
    const coord = rest % outDim;
    rest = Math.floor(rest / outDim);
    if (s < 0) continue;
    const dim = shape[s] as number;
    if (dim !== 1) index += coord * stride;
    stride *= dim;
  }
  return index;
}

/**
 * Every float32 matmul, transposed or not, on the C gemm: transposes cost nothing (the
 * gemm takes strides). Replaces tfjs-backend-wasm's own kernel, whose transposed cases
 * (both halves of every dense layer's backward pass) ran a naive loop at about 1 GFLOP/s.
 */
function batchMatMul(args: { inputs: NamedTensorInfoMap; backend: WasmKernelBackend; attrs: BatchMatMulAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = requireInput(inputs, 'a', BatchMatMul);
  const b = requireInput(inputs, 'b', BatchMatMul);
  requireFloat32(a, BatchMatMul);
  requireFloat32(b, BatchMatMul);
  const { transposeA, transposeB } = attrs;
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) throw new BackendError('BACKEND_ERR_BAD_SHAPE', `BatchMatMul needs rank >= 2 inputs, got ${a.shape} and ${b.shape}`);
  const m = a.shape[transposeA ? aRank - 1 : aRank - 2] as number;
  const kA = a.shape[transposeA ? aRank - 2 : aRank - 1] as number;
  const kB = b.shape[transposeB ? bRank - 1 : bRank - 2] as number;
  const n = b.shape[transposeB ? bRank - 2 : bRank - 1] as number;
  if (kA !== kB) {
    throw new BackendError(
      'BACKEND_ERR_BAD_SHAPE',
      `BatchMatMul: inner shapes (${kA}) and (${kB}) of ${a.shape} and ${b.shape} ` +
        `(transposeA=${transposeA}, transposeB=${transposeB}) must match`
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = broadcast_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const out = backend.makeOutput([...outBatch, m, n], 'float32');
  const batches = sizeOf(outBatch);
  if (batches === 0 || m === 0 || n === 0) return out;
  const { fn, gemmScratch } = trainingKernels(backend);
  const aBase = heapAddress(backend, a);
  const bBase = heapAddress(backend, b);
  const outBase = heapAddress(backend, out);
  // Row and column strides (in elements) of op(A) [m, k] and op(B) [k, n].
  const [rsa, csa] = transposeA ? [1, m] : [kA, 1];
  const [rsb, csb] = transposeB ? [1, kA] : [n, 1];
  for (let i = 0; i < batches; i++) {
    const aAt = aBase + broadcastIndex(i, outBatch, aBatch) * m * kA * 4;
    const bAt = bBase + broadcastIndex(i, outBatch, bBatch) * kA * n * 4;
    fn.gemm(m, n, kA, aAt, rsa, csa, bAt, rsb, csb, outBase + i * m * n * 4, n, 0, gemmScratch);
  }
  return out;
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMul as unknown as KernelFunc,
};
