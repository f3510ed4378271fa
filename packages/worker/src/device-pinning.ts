import { WorkerError } from './errors.js';

/** The variable CUDA (and so `@tensorflow/tfjs-node-gpu`) reads to choose the GPUs a process may see. */
export const CUDA_DEVICES_ENV = 'CUDA_VISIBLE_DEVICES';
/**
 * The device index of a rank process for backends that do not read CUDA_VISIBLE_DEVICES
 * (a WebGPU/Vulkan adapter enumerates every GPU): the same device, by its index on the machine.
 */
export const GPU_INDEX_ENV = 'TFJS_DDP_GPU_INDEX';

/**
 * The environment that pins rank process `index` of `count` to one device. With
 * CUDA_VISIBLE_DEVICES unset in the launcher, process i gets device i; with it set to a
 * list (a scheduler's allotment, e.g. "2,3"), process i gets the list's i-th entry, so
 * the processes stay inside what the launcher was given. An empty CUDA_VISIBLE_DEVICES
 * (no GPU allowed) stays empty: pinning must not show a device the launcher was denied.
 */
export function pinnedDeviceEnv(index: number, count: number, parentEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const given = parentEnv[CUDA_DEVICES_ENV];
  if (given === undefined) return { [CUDA_DEVICES_ENV]: String(index), [GPU_INDEX_ENV]: String(index) };
  const devices = given.split(',').map((d) => d.trim()).filter((d) => d !== '');
  if (devices.length === 0) return { [CUDA_DEVICES_ENV]: given };
  if (devices.length < count) {
    throw new WorkerError(
      'WORKER_ERR_BAD_OPTION',
      `${CUDA_DEVICES_ENV}=${JSON.stringify(given.slice(0, 64))} lists ${devices.length} device(s) for ${count} rank processes: ` +
        'each rank process gets a device of its own; ask for at most that many processes or list more devices',
    );
  }
  const device = devices[index] as string;
  // A device named by UUID (GPU-…) has no index a WebGPU adapter list shares: leave the choice to the backend then.
  return { [CUDA_DEVICES_ENV]: device, ...(/^\d+$/.test(device) ? { [GPU_INDEX_ENV]: device } : {}) };
}
