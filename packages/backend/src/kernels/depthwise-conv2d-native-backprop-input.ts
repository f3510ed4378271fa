import { DepthwiseConv2dNativeBackpropInput, backend_util } from '@tensorflow/tfjs';
import type { DepthwiseConv2dNativeBackpropInputAttrs, KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { depthwiseArgs, requireNoDilation } from './depthwise-geometry.js';
import { trainingKernels } from './training-module.js';
import { heapAddress, requireFloat32, requireInput, type WasmKernelBackend } from './wasm-backend.js';

/** The input gradient of a depthwise convolution (missing from tfjs-backend-wasm), as a scatter loop in C. */
function depthwiseConv2dNativeBackpropInput(args: {
  inputs: NamedTensorInfoMap;
  backend: WasmKernelBackend;
  attrs: DepthwiseConv2dNativeBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const name = DepthwiseConv2dNativeBackpropInput;
  const dy = requireInput(inputs, 'dy', name);
  const filter = requireInput(inputs, 'filter', name);
  requireFloat32(dy, name);
  requireFloat32(filter, name);
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs;
  const info = backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, true,
  );
  requireNoDilation(info, name);
  const dx = backend.makeOutput([...inputShape], 'float32');
  trainingKernels(backend).fn.depthwise_backprop_input(
    heapAddress(backend, dy), heapAddress(backend, filter), ...depthwiseArgs(info), heapAddress(backend, dx),
  );
  return dx;
}

export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropInput as unknown as KernelFunc,
};
