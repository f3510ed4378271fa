/**
 * The backends tfjs-ddp can train on, fastest first. `node-gpu` and `node` are the native
 * TensorFlow bindings (`@tensorflow/tfjs-node-gpu`, `@tensorflow/tfjs-node`), `wasm` is
 * `@tensorflow/tfjs-backend-wasm` with the training kernels it lacks registered by this
 * package, `cpu` is tfjs's pure-JavaScript backend.
 */
export const BACKEND_NAMES = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
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
