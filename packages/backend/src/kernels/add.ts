import { Add } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { channelBinary } from './channel-binary.js';

/** Add of a [..., C] tensor and a per-channel vector in one pass (channel-binary.ts); the rest to tfjs-backend-wasm's own Add. */
export const addConfig: KernelConfig = {
  kernelName: Add,
  backendName: 'wasm',
  kernelFunc: (args) => channelBinary('Add', args),
};
