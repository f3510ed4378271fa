import { backend_util } from '@tensorflow/tfjs';
import type { ConvGeometry } from './training-module.js';

/** Everything the C conv and pool kernels need about one NHWC convolution, as their arguments. */
export function convArgs(info: backend_util.Conv2DInfo): ConvGeometry {
  return [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left,
  ];
}

export function requireChannelsLast(dataFormat: string, kernel: string): void {
  if (backend_util.convertConv2DDataFormat(dataFormat as 'NHWC' | 'NCHW') !== 'channelsLast') {
    throw new Error(`${kernel} on wasm supports only NHWC (channelsLast) data`);
  }
}

/** A 1x1 filter, stride 1, no padding: the patch matrix is the input itself. */
export function isPointwise(info: backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    info.padInfo.top === 0 && info.padInfo.left === 0 && info.outHeight === info.inHeight && info.outWidth === info.inWidth
  );
}
