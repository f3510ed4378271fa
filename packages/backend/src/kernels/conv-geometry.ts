import { backend_util } from '@tensorflow/tfjs';
import type { ConvGeometry } from './training-module.js';
import { BackendError } from '../errors.js';

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
    throw new BackendError('BACKEND_ERR_UNSUPPORTED', `${kernel} on wasm supports only NHWC (channelsLast) data`);
  }
}

/**
 * Patch rows the C conv drivers take per block: about 128 KB of patches, so that a block,
 * the gemm's packed panels and the rows they write stay in the L2 cache.
 */
export function patchBlockRows(info: backend_util.Conv2DInfo): number {
  const taps = info.filterHeight * info.filterWidth * info.inChannels;
  const positions = info.batchSize * info.outHeight * info.outWidth;
  return Math.max(1, Math.min(positions, Math.max(64, Math.floor(32768 / taps))));
}
