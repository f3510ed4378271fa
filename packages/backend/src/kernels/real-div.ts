import { RealDiv } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { channelBinary } from './channel-binary.js';

/** RealDiv of a [..., C] tensor and a per-channel vector in one pass (channel-binary.ts); the rest to tfjs-backend-wasm's own RealDiv. */
export const realDivConfig: KernelConfig = {
  kernelName: RealDiv,
  backendName: 'wasm',
  kernelFunc: (args) => channelBinary('RealDiv', args),
};
