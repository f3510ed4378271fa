import { Conv2DBackpropFilter, backend_util } from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { convArgs, requireChannelsLast } from './conv-geometry.js';
import { runConvDriver } from './conv-driver.js';
import { trainingKernels } from './training-module.js';
import { heapAddress, requireFloat32, requireInput, type WasmKernelBackend } from './wasm-backend.js';

/**
 * dW[fh·fw·inC, outC] = patches(x)ᵀ · dy, block by block of patch rows, in C
 * (csrc/conv.c); the gemm reads each block transposed through its strides.
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
  const dw = backend.makeOutput([...filterShape], 'float32');
  const { fn } = trainingKernels(backend);
  runConvDriver(backend, info, (blockRows, cols, gemmScratch) =>
    fn.conv2d_backprop_filter(heapAddress(backend, x), heapAddress(backend, dy), ...convArgs(info), info.outChannels,
      heapAddress(backend, dw), cols, blockRows, gemmScratch),
  );
  return dw;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
