import { DepthwiseConv2dNativeBackpropFilter, backend_util } from '@tensorflow/tfjs';
import type { DepthwiseConv2dNativeBackpropFilterAttrs, KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { depthwiseArgs, requireNoDilation } from './depthwise-geometry.js';
import { trainingKernels } from './training-module.js';
import { heapAddress, requireFloat32, requireInput, type WasmKernelBackend } from './wasm-backend.js';

/** The filter gradient of a depthwise convolution (missing from tfjs-backend-wasm), as a direct loop in C. */
function depthwiseConv2dNativeBackpropFilter(args: {
  inputs: NamedTensorInfoMap;
  backend: WasmKernelBackend;
  attrs: DepthwiseConv2dNativeBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const name = DepthwiseConv2dNativeBackpropFilter;
  const x = requireInput(inputs, 'x', name);
  const dy = requireInput(inputs, 'dy', name);
  requireFloat32(x, name);
  requireFloat32(dy, name);
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, dilations, pad, dimRoundingMode, true,
  );
  requireNoDilation(info, name);
  const dw = backend.makeOutput([...filterShape], 'float32');
  trainingKernels(backend).fn.depthwise_backprop_filter(
    heapAddress(backend, x), heapAddress(backend, dy), ...depthwiseArgs(info), heapAddress(backend, dw),
  );
  return dw;
}

export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropFilter as unknown as KernelFunc,
};
