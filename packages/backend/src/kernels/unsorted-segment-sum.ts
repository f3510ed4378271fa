import { UnsortedSegmentSum } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo, UnsortedSegmentSumAttrs } from '@tensorflow/tfjs';
import { requireInput, sizeOf, type WasmKernelBackend } from './wasm-backend.js';
import { BackendError } from '../errors.js';

/**
 * out[s, ...] = sum of the slices x[i, ...] whose segment id is s; ids outside
 * [0, numSegments) are dropped. Missing from tfjs-backend-wasm; it is the gradient of
 * gather, so an Embedding layer cannot train on wasm without it. Float32 out, as on cpu.
 */
function unsortedSegmentSum(args: { inputs: NamedTensorInfoMap; backend: WasmKernelBackend; attrs: UnsortedSegmentSumAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = requireInput(inputs, 'x', UnsortedSegmentSum);
  const ids = requireInput(inputs, 'segmentIds', UnsortedSegmentSum);
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new BackendError('BACKEND_ERR_UNSUPPORTED', `UnsortedSegmentSum on wasm does not support ${x.dtype}`);
  if (ids.dtype !== 'int32') throw new BackendError('BACKEND_ERR_UNSUPPORTED', `UnsortedSegmentSum needs int32 segment ids, got ${ids.dtype}`);
  const { numSegments } = attrs;
  const idShape = ids.shape;
  if (idShape.some((d, i) => d !== x.shape[i])) {
    throw new BackendError('BACKEND_ERR_BAD_SHAPE', `UnsortedSegmentSum: segment ids of shape ${idShape} must match the leading dims of x ${x.shape}`);
  }
  const sliceShape = x.shape.slice(idShape.length);
  const slice = sizeOf(sliceShape);
  const out = backend.makeOutput([numSegments, ...sliceShape], 'float32');
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(x);
  const segment = backend.typedArrayFromHeap(ids);
  dst.fill(0);
  for (let i = 0; i < segment.length; i++) {
    const s = segment[i] as number;
    if (s < 0 || s >= numSegments) continue;
    const from = i * slice;
    const to = s * slice;
    for (let j = 0; j < slice; j++) dst[to + j] = (dst[to + j] as number) + (src[from + j] as number);
  }
  return out;
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as KernelFunc,
};
