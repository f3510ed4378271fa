import { Sum } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { leadingAxesReduce } from './channel-reduce.js';

/** Sum over leading axes in one pass (see channel-reduce.ts); other cases go to tfjs-backend-wasm's own Sum. */
export const sumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: 'wasm',
  kernelFunc: (args) => leadingAxesReduce('Sum', args),
};
