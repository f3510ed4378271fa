/** Error codes of this package; tests check the code, not the wording. */
export type BackendErrorCode =
  | 'BACKEND_ERR_UNKNOWN_NAME'
  /** No requested backend would load or initialize. */
  | 'BACKEND_ERR_UNAVAILABLE'
  /** WebGPU loaded but found no adapter: no Vulkan driver Dawn accepts (the message says what to install). */
  | 'BACKEND_ERR_NO_GPU_ADAPTER'
  /** tfjs-node-gpu loaded but found no usable GPU, and running on the CPU was not allowed. */
  | 'BACKEND_ERR_NO_GPU'
  | 'BACKEND_ERR_WASM_BINARIES_MISSING'
  /** Tensors whose shapes do not fit the op (or each other). */
  | 'BACKEND_ERR_BAD_SHAPE'
  /** A kernel was called without one of its named inputs. */
  | 'BACKEND_ERR_MISSING_INPUT'
  /** A dtype, data format or attribute the wasm kernels written here do not handle. */
  | 'BACKEND_ERR_UNSUPPORTED'
  /** The training kernels' wasm module or tfjs-backend-wasm is not what registering them expects. */
  | 'BACKEND_ERR_KERNEL_SETUP';

export class BackendError extends Error {
  readonly code: BackendErrorCode;
  constructor(code: BackendErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendError';
    this.code = code;
  }
}
