import { Sub } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { channelBinary } from './channel-binary.js';

/** Sub of a [..., C] tensor and a per-channel vector in one pass (channel-binary.ts); the rest to tfjs-backend-wasm's own Sub. */
export const subConfig: KernelConfig = {
  kernelName: Sub,
  backendName: 'wasm',
  kernelFunc: (args) => channelBinary('Sub', args),
};
