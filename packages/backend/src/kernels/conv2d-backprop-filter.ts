import { Conv2DBackpropFilter, backend_util } from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { convArgs, isPointwise, requireChannelsLast } from './conv-geometry.js';
import { trainingKernels } from './training-module.js';
import { heapAddress, requireFloat32, requireInput, type WasmKernelBackend } from './wasm-backend.js';

/**
 * dW[fh·fw·inC, outC] = patches(x)ᵀ · dy: one im2col and one matrix multiply, both in C
 * (training-kernels.wasm). The gemm reads the patch matrix transposed through its
 * strides, so nothing is transposed in memory.
 */
function conv2DBackpropFilter(args: { inputs: NamedTensorInfoMap; backend: WasmKernelBackend; attrs: Conv2DBackpropFilterAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = requireInput(inputs, 'x', Conv2DBackpropFilter);
  const dy = requireInput(inputs, 'dy', Conv2DBackpropFilter);
  requireFloat32(x, Conv2DBackpropFilter);
  requireFloat32(dy, Conv2DBackpropFilter);
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  requireChannelsLast(dataFormat, Conv2DBackpropFilter);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast',
  );
  const taps = info.filterHeight * info.filterWidth * info.inChannels;
  const positions = info.batchSize * info.outHeight * info.outWidth;
  const outChannels = info.outChannels;
  const dw = backend.makeOutput([...filterShape], 'float32');
  const { fn, gemmScratch } = trainingKernels(backend);
  let patches: TensorInfo = x;
  if (!isPointwise(info)) {
    patches = backend.makeOutput([positions, taps], 'float32');
    fn.im2col(heapAddress(backend, x), ...convArgs(info), heapAddress(backend, patches));
  }
  fn.gemm(taps, outChannels, positions, heapAddress(backend, patches), 1, taps, heapAddress(backend, dy), outChannels, 1,
    heapAddress(backend, dw), outChannels, 0, gemmScratch);
  if (patches !== x) backend.disposeData(patches.dataId);
  return dw;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
