export { BACKEND_NAMES, isBackendRequest, isNativeBackend } from './backend-names.js';
export type { BackendName, BackendRequest } from './backend-names.js';
export { BackendError } from './errors.js';
export type { BackendErrorCode } from './errors.js';
export { initBackend, backendInfo } from './select-backend.js';
export type { BackendAttempt, BackendInfo } from './select-backend.js';
export { registerWasmTrainingKernels, wasmTrainingKernels } from './kernels/index.js';
export { wasmBinaryDir } from './wasm-binaries.js';
