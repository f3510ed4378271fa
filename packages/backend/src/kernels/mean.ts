import { Mean } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { leadingAxesReduce } from './channel-reduce.js';

/** Mean over leading axes in one pass (see channel-reduce.ts); other cases go to tfjs-backend-wasm's own Mean. */
export const meanConfig: KernelConfig = {
  kernelName: Mean,
  backendName: 'wasm',
  kernelFunc: (args) => leadingAxesReduce('Mean', args),
};
