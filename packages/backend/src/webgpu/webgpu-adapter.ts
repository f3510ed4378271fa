import { BackendError } from '../errors.js';

/**
 * The Debian packages that give Dawn a Vulkan driver to run on. Bookworm's own Mesa
 * (22.3) has a lavapipe Dawn refuses (no adapter); the one in bookworm-backports (25)
 * works. A machine with a GPU needs its vendor's Vulkan driver instead.
 */
export const WEBGPU_INSTALL_HINT =
  'a Vulkan driver: on a GPU machine its vendor\'s (e.g. the NVIDIA driver with the container toolkit\'s Vulkan ICD); ' +
  'for the CPU fallback (lavapipe) on Debian bookworm: add bookworm-backports to the apt sources, then ' +
  '`apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1` (bookworm\'s own Mesa 22.3 is refused by Dawn)';

/** The fields of a GPUAdapterInfo this package reads. */
export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/** The part of `navigator.gpu` the check uses; tests pass a fake. */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<{ info?: AdapterInfoLike } | null>;
}

/** What the check learned of the adapter tfjs will take. */
export interface WebGpuAdapter {
  /** One line naming the adapter, for the log and /status. */
  description: string;
  /** A CPU implementation (lavapipe, SwiftShader): it works, but slower than wasm on the same cores is possible. */
  software: boolean;
}

const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|software/i;

export function isSoftwareAdapter(info: AdapterInfoLike): boolean {
  if (info.isFallbackAdapter === true || info.architecture === 'software') return true;
  return SOFTWARE_NAMES.test(`${info.description ?? ''} ${info.device ?? ''}`);
}

export function describeAdapter(info: AdapterInfoLike): string {
  const parts = [info.vendor, info.description || info.device].filter((p): p is string => typeof p === 'string' && p !== '');
  return parts.length === 0 ? 'an adapter that does not describe itself' : parts.join(': ');
}

/**
 * Asks for the adapter tfjs-backend-webgpu will ask for (high-performance, its default)
 * before tfjs does: tfjs would fail later and obscurely ("Cannot read properties of null")
 * where this can say what is missing and how to install it.
 */
export async function checkWebGpuAdapter(gpu: GpuLike): Promise<WebGpuAdapter> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    throw new BackendError('BACKEND_ERR_NO_GPU_ADAPTER', `WebGPU (Dawn) found no adapter: this machine needs ${WEBGPU_INSTALL_HINT}`);
  }
  const info = adapter.info ?? {};
  return { description: describeAdapter(info), software: isSoftwareAdapter(info) };
}
