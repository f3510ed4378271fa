import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { AUTO_BACKENDS, BACKEND_NAMES, isBackendRequest, type BackendName, type BackendRequest } from './backend-names.js';
import { BackendError, type BackendErrorCode } from './errors.js';
import { registerWasmTrainingKernels } from './kernels/index.js';
import { wasmBinaryDir } from './wasm-binaries.js';
import { loadWebGpu } from './webgpu/load-webgpu.js';

/** One backend tried while choosing, and why it was or was not taken. */
export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  detail: string;
}

/** What `initBackend` chose; the status page and the worker's hello report it. */
export interface BackendInfo {
  /** tfjs-ddp's name for the backend. */
  name: BackendName;
  /** The name tfjs knows it by (`tf.getBackend()`). */
  tfBackend: string;
  /** One line saying why this backend was chosen. */
  reason: string;
  /** Every backend tried, in order, with the reason it failed. */
  attempts: BackendAttempt[];
  /** Kernels this package registered on top of the backend's own. */
  addedKernels: string[];
  tfjsVersion: string;
  /** The device it computes on, where the backend says (webgpu: the adapter). */
  device?: string;
  /** Something the user should know about the choice (a software GPU adapter); the log shows it as a warning. */
  warning?: string;
}

/** What loading one backend found beyond the kernels it added. */
interface Loaded {
  addedKernels: string[];
  device?: string;
  warning?: string;
}

const NATIVE_PACKAGES: Record<'node-gpu' | 'node', string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
};

let current: BackendInfo | undefined;

/** The backend chosen by the last `initBackend` in this thread, if any. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Native load failures are many lines long; the first says what is missing.
  return message.split('\n')[0]?.trim() || 'unknown error';
}

async function tryNative(name: 'node-gpu' | 'node'): Promise<void> {
  const specifier = NATIVE_PACKAGES[name];
  // Loading is the only honest test: the package folder can exist while its native
  // binding is absent (install scripts that download libtensorflow did not run).
  await import(specifier);
  if (!(await tf.setBackend('tensorflow'))) {
    throw new BackendError('BACKEND_ERR_UNAVAILABLE', `${specifier} loaded but the tensorflow backend did not initialize`);
  }
}

async function tryWasm(): Promise<string[]> {
  setWasmPaths(wasmBinaryDir());
  const added = registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new BackendError('BACKEND_ERR_UNAVAILABLE', 'tf.setBackend("wasm") returned false');
  return added;
}

async function tryWebGpu(): Promise<Loaded> {
  const adapter = await loadWebGpu();
  const loaded: Loaded = { addedKernels: [], device: adapter.description };
  if (adapter.software) {
    loaded.warning =
      `the WebGPU adapter is a software one (${adapter.description}): it computes on the CPU, ` +
      'typically slower than the wasm backend on the same cores; it is meant for testing';
  }
  return loaded;
}

async function tryBackend(name: BackendName): Promise<Loaded> {
  switch (name) {
    case 'node-gpu':
    case 'node':
      await tryNative(name);
      return { addedKernels: [] };
    case 'wasm':
      return { addedKernels: await tryWasm() };
    case 'webgpu':
      return tryWebGpu();
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new BackendError('BACKEND_ERR_UNAVAILABLE', 'tf.setBackend("cpu") returned false');
      return { addedKernels: [] };
  }
}

/**
 * Chooses and initializes the tfjs backend of this thread. With `auto` the fastest
 * backend that loads wins, in the order node-gpu, node, wasm, cpu (webgpu only by name:
 * see `BACKEND_NAMES`); a named backend
 * must load or this throws `BACKEND_ERR_UNAVAILABLE` (falling back silently would hide
 * a misconfigured GPU machine).
 */
export async function initBackend(request: BackendRequest | string = 'auto'): Promise<BackendInfo> {
  if (!isBackendRequest(request)) {
    throw new BackendError(
      'BACKEND_ERR_UNKNOWN_NAME',
      `unknown backend "${request}"; allowed: auto, ${BACKEND_NAMES.join(', ')}`,
    );
  }
  const candidates: readonly BackendName[] = request === 'auto' ? AUTO_BACKENDS : [request];
  const attempts: BackendAttempt[] = [];
  let lastCode: BackendErrorCode = 'BACKEND_ERR_UNAVAILABLE';
  for (const name of candidates) {
    try {
      const { addedKernels, device, warning } = await tryBackend(name);
      await tf.ready();
      attempts.push({ name, ok: true, detail: 'loaded' });
      const skipped = attempts.filter((a) => !a.ok).map((a) => `${a.name}: ${a.detail}`);
      const reason =
        request === 'auto'
          ? skipped.length === 0
            ? `${name} is the fastest backend available`
            : `${name} chosen automatically (unavailable: ${skipped.join('; ')})`
          : `${name} requested`;
      const where = device === undefined ? '' : ` on ${device}`;
      current = {
        name,
        tfBackend: tf.getBackend(),
        reason: reason + where,
        attempts,
        addedKernels,
        tfjsVersion: tf.version.tfjs,
        ...(device === undefined ? {} : { device }),
        ...(warning === undefined ? {} : { warning }),
      };
      return current;
    } catch (error) {
      attempts.push({ name, ok: false, detail: describe(error) });
      if (error instanceof BackendError) lastCode = error.code;
    }
  }
  // A named backend that failed for a known reason keeps that reason's code (a missing GPU adapter is not a missing package).
  throw new BackendError(
    request === 'auto' ? 'BACKEND_ERR_UNAVAILABLE' : lastCode,
    `no usable tfjs backend: ${attempts.map((a) => `${a.name}: ${a.detail}`).join('; ')}`,
  );
}
