import type { backend_util } from '@tensorflow/tfjs';
import { BackendError } from '../errors.js';

/** The shape of one NHWC depthwise convolution as the C depthwise kernels take it (after their two pointers). */
export function depthwiseArgs(info: backend_util.Conv2DInfo): [
  batch: number, inH: number, inW: number, inC: number, outH: number, outW: number, fH: number, fW: number,
  sH: number, sW: number, padTop: number, padLeft: number, mult: number,
] {
  return [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.padInfo.top, info.padInfo.left, info.outChannels / info.inChannels,
  ];
}

/**
 * tfjs's gradient of depthwiseConv2d refuses dilation > 1, and its cpu kernels ignore the
 * dilation they are given, so there is no reference to match: refuse it here too.
 */
export function requireNoDilation(info: backend_util.Conv2DInfo, kernel: string): void {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new BackendError('BACKEND_ERR_UNSUPPORTED', `${kernel} on wasm supports dilation 1 only, got ${info.dilationHeight}x${info.dilationWidth}`);
  }
}
