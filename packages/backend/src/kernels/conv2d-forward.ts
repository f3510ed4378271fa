import { backend_util } from '@tensorflow/tfjs';
import type { KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { convArgs } from './conv-geometry.js';
import { runConvDriver } from './conv-driver.js';
import { trainingKernels } from './training-module.js';
import { heapAddress, requireInput, type WasmKernelBackend } from './wasm-backend.js';
import { runWasmOwnKernel } from './wasm-own-kernels.js';

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
  leakyreluAlpha?: number;
}

/**
 * Conv2D and FusedConv2D (bias, relu) as blocked patches + gemm in C (csrc/conv.c). The
 * backend's own kernels (XNNPACK) ran at 10-14 GFLOP/s on the zoo's 3x3 convolutions and
 * under 3 on their 1-channel input layer; cases not covered here (NCHW, other
 * activations, PReLU weights, other dtypes) go to the original.
 */
export function conv2dForward(kernelName: 'Conv2D' | 'FusedConv2D', args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const inputs = args.inputs as NamedTensorInfoMap;
  const attrs = args.attrs as unknown as ConvAttrs;
  const x = requireInput(inputs, 'x', kernelName);
  const filter = requireInput(inputs, 'filter', kernelName);
  const { bias, preluActivationWeights } = inputs;
  const activation = attrs.activation ?? 'linear';
  const covered =
    x.dtype === 'float32' && filter.dtype === 'float32' && attrs.dataFormat !== 'NCHW' &&
    (activation === 'linear' || activation === 'relu') && preluActivationWeights === undefined &&
    (bias === undefined || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === filter.shape[3]));
  if (!covered) return runWasmOwnKernel(kernelName, args);
  const backend = args.backend as unknown as WasmKernelBackend;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  const out = backend.makeOutput([...info.outShape], 'float32');
  if (info.batchSize * info.outHeight * info.outWidth * info.outChannels === 0) return out;
  const { fn } = trainingKernels(backend);
  runConvDriver(backend, info, (blockRows, cols, gemmScratch) =>
    fn.conv2d_forward(heapAddress(backend, x), heapAddress(backend, filter), bias === undefined ? 0 : heapAddress(backend, bias),
      ...convArgs(info), info.outChannels, activation === 'relu' ? 1 : 0, heapAddress(backend, out), cols, blockRows, gemmScratch),
  );
  return out;
}
