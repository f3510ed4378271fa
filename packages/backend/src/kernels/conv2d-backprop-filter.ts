import { Conv2DBackpropFilter, backend_util, getKernel } from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { float32FromHeap, type WasmKernelBackend } from './wasm-backend.js';

/**
 * dW = im2col(x)^T · dy as one matrix multiply on the backend's own BatchMatMul, instead
 * of one matMul per filter tap. The patch matrix is written transposed ([taps·inC, N·outH·outW])
 * so the multiply needs no transpose of its large operand.
 */
function conv2DBackpropFilter(args: {
  inputs: NamedTensorInfoMap;
  backend: WasmKernelBackend;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs['x'];
  const dy = inputs['dy'];
  if (x === undefined || dy === undefined) throw new Error('Conv2DBackpropFilter needs inputs x and dy');
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') {
    throw new Error('Conv2DBackpropFilter on wasm supports only NHWC (channelsLast) data');
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const taps = filterHeight * filterWidth * inChannels;
  const positions = batchSize * outHeight * outWidth;

  const patches = backend.makeOutput([1, taps, positions], 'float32');
  const cols = float32FromHeap(backend, patches);
  const xv = float32FromHeap(backend, x);
  // Row (fh, fw, ci) of the transposed patch matrix holds x at that tap for every output position.
  for (let fh = 0; fh < filterHeight; fh++) {
    for (let fw = 0; fw < filterWidth; fw++) {
      for (let ci = 0; ci < inChannels; ci++) {
        const rowBase = ((fh * filterWidth + fw) * inChannels + ci) * positions;
        let p = rowBase;
        for (let b = 0; b < batchSize; b++) {
          const xb = b * inHeight * inWidth * inChannels;
          for (let oh = 0; oh < outHeight; oh++) {
            const ih = oh * strideHeight + fh * dilationHeight - padTop;
            if (ih < 0 || ih >= inHeight) {
              cols.fill(0, p, p + outWidth);
              p += outWidth;
              continue;
            }
            const xRow = xb + ih * inWidth * inChannels + ci;
            for (let ow = 0; ow < outWidth; ow++) {
              const iw = ow * strideWidth + fw * dilationWidth - padLeft;
              cols[p++] = iw >= 0 && iw < inWidth ? (xv[xRow + iw * inChannels] as number) : 0;
            }
          }
        }
      }
    }
  }

  const matMul = getKernel('BatchMatMul', 'wasm');
  if (matMul === undefined) throw new Error('the wasm backend has no BatchMatMul kernel');
  const dy3: TensorInfo = { dataId: dy.dataId, shape: [1, positions, outChannels], dtype: 'float32' };
  const product = matMul.kernelFunc({
    inputs: { a: patches, b: dy3 },
    backend: backend as never,
    attrs: { transposeA: false, transposeB: false },
  }) as TensorInfo;
  backend.disposeData(patches.dataId);
  return { dataId: product.dataId, shape: [...filterShape], dtype: 'float32' };
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
