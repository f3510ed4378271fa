import { Conv2D } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { conv2dForward } from './conv2d-forward.js';

/** Conv2D as blocked patches + gemm in C (conv2d-forward.ts); other cases to tfjs-backend-wasm's own. */
export const conv2DConfig: KernelConfig = {
  kernelName: Conv2D,
  backendName: 'wasm',
  kernelFunc: (args) => conv2dForward('Conv2D', args),
};
