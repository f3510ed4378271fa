import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { AUTO_BACKENDS, BACKEND_NAMES, isBackendRequest, isNativeBackend, type BackendName, type BackendRequest } from './backend-names.js';
import { BackendError, type BackendErrorCode } from './errors.js';
import { registerWasmTrainingKernels } from './kernels/index.js';
import { nativeDevice, type NativeBackendProbe } from './native-device.js';
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
  /**
   * The device it computes on, e.g. `GPU (CUDA_VISIBLE_DEVICES=1)`, `CPU (wasm)` or, for
   * webgpu, the adapter's description; the log and /status name it.
   */
  device: string;
  tfjsVersion: string;
  /** Something the user should know about the choice (a software GPU adapter); the log shows it as a warning. */
  warning?: string;
}

/** What loading one backend found beyond the kernels it added. */
interface Loaded {
  addedKernels: string[];
  device: string;
  warning?: string;
}

/** How the caller's layout limits the choice. */
export interface BackendOptions {
  /**
   * Why native backends cannot be used here (several rank threads share this process):
   * `auto` then skips them and says why in its reason; a named native backend is refused.
   */
  nativeRefused?: string;
  /** tfjs-node-gpu that finds no GPU trains on the CPU instead of being refused (BACKEND_ERR_NO_GPU). Default false. */
  allowCpu?: boolean;
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

async function tryNative(name: 'node-gpu' | 'node', options: BackendOptions): Promise<string> {
  const specifier = NATIVE_PACKAGES[name];
  // Loading is the only honest test: the package folder can exist while its native
  // binding is absent (install scripts that download libtensorflow did not run).
  await import(specifier);
  if (!(await tf.setBackend('tensorflow'))) {
    throw new BackendError('BACKEND_ERR_UNAVAILABLE', `${specifier} loaded but the tensorflow backend did not initialize`);
  }
  return nativeDevice(name, tf.backend() as NativeBackendProbe, options);
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

async function tryBackend(name: BackendName, options: BackendOptions): Promise<Loaded> {
  switch (name) {
    case 'node-gpu':
    case 'node':
      return { addedKernels: [], device: await tryNative(name, options) };
    case 'wasm':
      return { addedKernels: await tryWasm(), device: 'CPU (wasm)' };
    case 'webgpu':
      return tryWebGpu();
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new BackendError('BACKEND_ERR_UNAVAILABLE', 'tf.setBackend("cpu") returned false');
      return { addedKernels: [], device: 'CPU (JavaScript)' };
  }
}

/**
 * Chooses and initializes the tfjs backend of this thread. With `auto` the fastest
 * backend that loads wins, in the order node-gpu, node, wasm, cpu (webgpu only by name:
 * see `BACKEND_NAMES`); a named backend
 * must load or this throws `BACKEND_ERR_UNAVAILABLE` (falling back silently would hide
 * a misconfigured GPU machine). For the same reason tfjs-node-gpu without a GPU ends the
 * choice (BACKEND_ERR_NO_GPU) instead of passing on to a slower backend.
 */
export async function initBackend(request: BackendRequest | string = 'auto', options: BackendOptions = {}): Promise<BackendInfo> {
  if (!isBackendRequest(request)) {
    throw new BackendError(
      'BACKEND_ERR_UNKNOWN_NAME',
      `unknown backend "${request}"; allowed: auto, ${BACKEND_NAMES.join(', ')}`,
    );
  }
  if (request !== 'auto' && isNativeBackend(request) && options.nativeRefused !== undefined) {
    throw new BackendError('BACKEND_ERR_UNAVAILABLE', `${request}: ${options.nativeRefused}`);
  }
  const candidates: readonly BackendName[] = request === 'auto' ? AUTO_BACKENDS : [request];
  const attempts: BackendAttempt[] = [];
  let lastCode: BackendErrorCode = 'BACKEND_ERR_UNAVAILABLE';
  for (const name of candidates) {
    if (options.nativeRefused !== undefined && isNativeBackend(name)) {
      attempts.push({ name, ok: false, detail: `not tried: ${options.nativeRefused}` });
      continue;
    }
    try {
      const { addedKernels, device, warning } = await tryBackend(name, options);
      await tf.ready();
      attempts.push({ name, ok: true, detail: 'loaded' });
      const skipped = attempts.filter((a) => !a.ok).map((a) => `${a.name}: ${a.detail}`);
      const reason =
        request === 'auto'
          ? skipped.length === 0
            ? `${name} is the fastest backend available`
            : `${name} chosen automatically (unavailable: ${skipped.join('; ')})`
          : `${name} requested`;
      current = {
        name,
        tfBackend: tf.getBackend(),
        reason,
        attempts,
        addedKernels,
        device,
        tfjsVersion: tf.version.tfjs,
        ...(warning === undefined ? {} : { warning }),
      };
      return current;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'BACKEND_ERR_NO_GPU') throw error;
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
