import * as tf from '@tensorflow/tfjs';

/**
 * A stand-in for `@tensorflow/tfjs-node-gpu` (which cannot be installed here: its install
 * downloads libtensorflow), for tests only, loaded in its place by fake-node-gpu-hooks.ts:
 * like the real package, importing it registers a `tensorflow` backend, here the cpu
 * backend with tfjs-node's `isUsingGpuDevice` flag, read from FAKE_GPU_FLAG at each look
 * so one test file can have a GPU and then none.
 */
export const FAKE_GPU_FLAG = '__tfjsDdpFakeNodeGpuHasGpu';

const cpu = tf.findBackendFactory('cpu');
if (cpu === null) throw new Error('the cpu backend factory is not registered');
tf.registerBackend('tensorflow', async () => {
  const backend = await cpu();
  Object.defineProperty(backend, 'isUsingGpuDevice', { get: () => (globalThis as Record<string, unknown>)[FAKE_GPU_FLAG] === true });
  return backend;
});
