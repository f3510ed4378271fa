import { Multiply } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { channelBinary } from './channel-binary.js';

/** Multiply of a [..., C] tensor and a per-channel vector in one pass (channel-binary.ts); the rest to tfjs-backend-wasm's own Multiply. */
export const multiplyConfig: KernelConfig = {
  kernelName: Multiply,
  backendName: 'wasm',
  kernelFunc: (args) => channelBinary('Multiply', args),
};
