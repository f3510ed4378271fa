import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../errors.js';
import { checkWebGpuAdapter, type GpuLike, type WebGpuAdapter } from './webgpu-adapter.js';

/** The `webgpu` npm package: Dawn's Node bindings. */
interface DawnModule {
  create(options: string[]): GpuLike;
  globals: Record<string, unknown>;
}

/** A test hook: where set, the check is given no adapter, as on a machine without a Vulkan driver. */
export const HIDE_ADAPTER_ENV = 'TFJS_DDP_TEST_HIDE_WEBGPU_ADAPTER';

const NO_ADAPTER: GpuLike = { requestAdapter: () => Promise.resolve(null) };

// Variables, not literals: the packages are optional and loaded only when webgpu is asked for.
const DAWN_PACKAGE = 'webgpu';
const TFJS_WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';

async function importDawn(): Promise<DawnModule> {
  try {
    return (await import(DAWN_PACKAGE)) as DawnModule;
  } catch (cause) {
    const first = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0] ?? '';
    // An optional dependency (`npm ci --omit=optional` leaves it out). Its prebuilt
    // dawn.node covers linux x64 and arm64, macOS and Windows; other platforms cannot load it.
    const hint = 'an optional dependency of @tfjs-ddp/backend: `npm install webgpu@0.6.2`';
    throw new BackendError('BACKEND_ERR_UNAVAILABLE', `the npm package "webgpu" (Dawn for Node) did not load: ${first} (${hint})`, { cause });
  }
}

/**
 * Sets up WebGPU in this thread and makes it tfjs's backend. Order matters:
 * tfjs-backend-webgpu registers itself only if `navigator.gpu` exists when it is
 * imported, and Dawn's classes (GPUBufferUsage, ...) must be globals before its kernels
 * run, so Dawn comes first. The adapter is checked before tfjs asks for it.
 */
export async function loadWebGpu(): Promise<WebGpuAdapter> {
  const dawn = await importDawn();
  const gpu = process.env[HIDE_ADAPTER_ENV] ? NO_ADAPTER : dawn.create([]);
  const adapter = await checkWebGpuAdapter(gpu);
  Object.assign(globalThis, dawn.globals);
  const scope = globalThis as { navigator?: { gpu?: unknown } };
  // Node 20 has no `navigator`; Node 21+ has one without `gpu`.
  if (scope.navigator === undefined) scope.navigator = {};
  scope.navigator.gpu = gpu;
  await import(TFJS_WEBGPU_PACKAGE);
  if (!(await tf.setBackend('webgpu'))) {
    throw new BackendError('BACKEND_ERR_UNAVAILABLE', 'tf.setBackend("webgpu") returned false (see the warning tfjs printed above)');
  }
  return adapter;
}

/**
 * Why WebGPU cannot run here (the package does not load, or Dawn finds no adapter), or
 * undefined when it can: tests skip with this reason, which names what to install.
 */
export async function webGpuUnavailable(): Promise<string | undefined> {
  try {
    const dawn = await importDawn();
    await checkWebGpuAdapter(dawn.create([]));
    return undefined;
  } catch (error) {
    if (error instanceof BackendError) return error.message;
    throw error;
  }
}

/**
 * Lets the thread or process end: while Dawn's GPU object is referenced its event loop
 * stays alive. Disposes tfjs's webgpu backend (its device) and forgets `navigator.gpu`.
 */
export function releaseWebGpu(): void {
  if (tf.findBackend('webgpu') !== null) tf.removeBackend('webgpu');
  const scope = globalThis as { navigator?: { gpu?: unknown } };
  if (scope.navigator !== undefined) delete scope.navigator.gpu;
}
