import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BackendError } from './errors.js';

const require = createRequire(import.meta.url);

const BINARIES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'] as const;

/**
 * The folder of the installed `@tensorflow/tfjs-backend-wasm` that holds its `.wasm`
 * binaries, ending in a separator (setWasmPaths treats it as a prefix). In Node the
 * backend would otherwise look for them next to the running script.
 */
export function wasmBinaryDir(): string {
  let dir: string;
  try {
    dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  } catch (cause) {
    throw new BackendError(
      'BACKEND_ERR_WASM_BINARIES_MISSING',
      'cannot find @tensorflow/tfjs-backend-wasm/dist/*.wasm; is @tensorflow/tfjs-backend-wasm installed?',
      { cause },
    );
  }
  for (const name of BINARIES) {
    if (!existsSync(path.join(dir, name))) {
      throw new BackendError('BACKEND_ERR_WASM_BINARIES_MISSING', `missing wasm binary ${path.join(dir, name)}`);
    }
  }
  return dir + path.sep;
}
