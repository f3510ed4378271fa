import { backend_util, util } from '@tensorflow/tfjs';
import type { KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { trainingKernels } from './training-module.js';
import { heapAddress, requireInput, sizeOf, type WasmKernelBackend } from './wasm-backend.js';
import { runWasmOwnKernel } from './wasm-own-kernels.js';

/**
 * Sum or Mean over the leading axes of a float32 tensor ([rows, ...rest] -> rest): the
 * per-channel reductions of batch norm over N, H, W of an NHWC activation. These run in C
 * in one pass with float64 block accumulation; tfjs-backend-wasm's own kernels first
 * transpose the whole tensor so that the reduced axes come last. Every other case (inner
 * or mixed axes, all axes, other dtypes) goes to the original kernel.
 */
export function leadingAxesReduce(kernelName: 'Sum' | 'Mean', args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as WasmKernelBackend;
  const x = requireInput(args.inputs as NamedTensorInfoMap, 'x', kernelName);
  const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
  const axes = util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  const rank = x.shape.length;
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (x.dtype === 'float32' && sizeOf(x.shape) === 0) return reduceEmpty(kernelName, backend, x.shape, axes, keepDims);
  if (x.dtype !== 'float32' || !leading) return runWasmOwnKernel(kernelName, args);
  const rows = sizeOf(x.shape.slice(0, axes.length));
  const restShape = x.shape.slice(axes.length);
  const channels = sizeOf(restShape);
  const outShape = keepDims ? backend_util.expandShapeToKeepDim(restShape, axes) : restShape;
  const out = backend.makeOutput(outShape, 'float32');
  const { fn } = trainingKernels(backend);
  fn.sum_rows(heapAddress(backend, x), rows, channels, kernelName === 'Mean' ? 1 / rows : 1, heapAddress(backend, out));
  return out;
}


/**
 * A reduction of an empty tensor, done here: tfjs-backend-wasm's own kernels either leave
 * the output unwritten (garbage) or trap in their transpose (divide by zero) on one. A
 * rank with an empty shard meets this, as it still runs its forward and backward to take
 * part in SyncBN's collectives. The sum of nothing is 0, the mean NaN (as on cpu).
 */
function reduceEmpty(kernelName: 'Sum' | 'Mean', backend: WasmKernelBackend, shape: number[], axes: number[], keepDims: boolean): TensorInfo {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = keepDims ? kept : shape.filter((_, i) => !axes.includes(i));
  const out = backend.makeOutput(outShape, 'float32');
  backend.typedArrayFromHeap(out).fill(kernelName === 'Mean' ? NaN : 0);
  return out;
}
