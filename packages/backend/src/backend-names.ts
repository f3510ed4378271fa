/**
 * The backends `auto` tries, fastest first. `node-gpu` and `node` are the native
 * TensorFlow bindings (`@tensorflow/tfjs-node-gpu`, `@tensorflow/tfjs-node`), `wasm` is
 * `@tensorflow/tfjs-backend-wasm` with the training kernels it lacks registered by this
 * package, `cpu` is tfjs's pure-JavaScript backend.
 */
export const AUTO_BACKENDS = ['node-gpu', 'node', 'wasm', 'cpu'] as const;

/**
 * Every backend a user may name. `webgpu` (`@tensorflow/tfjs-backend-webgpu` on Dawn's
 * Node bindings, the npm package `webgpu`) is asked for by name only, never by `auto`:
 * on a software adapter (lavapipe) it would silently run on the CPU; on a hardware one
 * its speed against the native backend is unmeasured here, and SyncBN (the default
 * `--bn sync`) does not run on it yet (see the trainer's async-only-backend.ts).
 */
export const BACKEND_NAMES = [...AUTO_BACKENDS, 'webgpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendRequest = BackendName | 'auto';

export function isBackendRequest(value: string): value is BackendRequest {
  return value === 'auto' || (BACKEND_NAMES as readonly string[]).includes(value);
}

/**
 * Native backends cannot be loaded in a second worker thread of one process
 * (tfjs issues 8388 and 2079), so with them every rank is its own process.
 */
export function isNativeBackend(name: BackendName): boolean {
  return name === 'node-gpu' || name === 'node';
}

/**
 * Backends whose tensors can be read back only asynchronously in Node (`dataSync()`
 * throws on webgpu there: tfjs reads synchronously through a canvas Node lacks).
 */
export function readsAsyncOnly(name: string): boolean {
  return name === 'webgpu';
}
