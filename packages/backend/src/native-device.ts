import { BackendError } from './errors.js';

/** What tfjs-node's backend object (NodeJSKernelBackend) says about its device; a fake stands in for it in tests. */
export interface NativeBackendProbe {
  /** True when TensorFlow placed the backend on a GPU (tfjs-node-gpu with a usable GPU). */
  isUsingGpuDevice?: unknown;
}

/**
 * The device a native backend runs on, as the log and /status name it. TensorFlow's
 * GPU build quietly runs on the CPU when it finds no usable GPU (no driver, a CUDA or
 * cuDNN version it does not accept, CUDA_VISIBLE_DEVICES hiding them all); a job that asked
 * for a GPU would then train a hundred times slower without a word, so that is refused
 * with BACKEND_ERR_NO_GPU unless `allowCpu`.
 */
export function nativeDevice(name: 'node-gpu' | 'node', backend: NativeBackendProbe, options: { allowCpu?: boolean; env?: NodeJS.ProcessEnv } = {}): string {
  if (name === 'node') return 'CPU (TensorFlow native)';
  const visible = (options.env ?? process.env).CUDA_VISIBLE_DEVICES;
  const pinned = visible === undefined ? 'every GPU visible' : `CUDA_VISIBLE_DEVICES=${visible}`;
  if (backend.isUsingGpuDevice === true) return `GPU (${pinned})`;
  if (options.allowCpu === true) return `CPU: @tensorflow/tfjs-node-gpu found no GPU (${pinned}), allowed by --allow-cpu`;
  throw new BackendError(
    'BACKEND_ERR_NO_GPU',
    `@tensorflow/tfjs-node-gpu loaded but TensorFlow found no usable GPU (${pinned}): check the NVIDIA driver, CUDA 11.2 and cuDNN 8.1 ` +
      '(its log above says what it did not find), or pass --allow-cpu to train on the CPU',
  );
}
