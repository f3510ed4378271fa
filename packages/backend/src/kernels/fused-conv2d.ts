import { FusedConv2D } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { conv2dForward } from './conv2d-forward.js';

/**
 * FusedConv2D (what tfjs-layers' Conv2D calls) with bias and linear/relu activation as
 * blocked patches + gemm in C (conv2d-forward.ts); other cases to tfjs-backend-wasm's own.
 */
export const fusedConv2DConfig: KernelConfig = {
  kernelName: FusedConv2D,
  backendName: 'wasm',
  kernelFunc: (args) => conv2dForward('FusedConv2D', args),
};
