import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../select-backend.js';
import { seededUniform } from '../testing/both-backends.js';
import {
  TRAINING_WASM_URL, compileWasm, heapMemory, instantiateTrainingKernels, trainingKernels, wasmSectionIds,
  type TrainingKernelExports,
} from './training-module.js';
import { heapAddress, type WasmKernelBackend } from './wasm-backend.js';

const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

function wasmBackend(): WasmKernelBackend {
  return tf.backend() as unknown as WasmKernelBackend;
}

/** Which of clang and wasm-ld are missing, or undefined when both run. */
function missingToolchain(): string | undefined {
  const missing = ['clang', 'wasm-ld'].filter((tool) => spawnSync(tool, ['--version']).status !== 0);
  return missing.length === 0 ? undefined : `${missing.join(' and ')} not found (Debian: apt-get install clang lld)`;
}

/** Runs the same kernels of two builds on the same heap data; their outputs must be identical. */
function assertSameResults(committed: TrainingKernelExports, rebuilt: TrainingKernelExports): void {
  const backend = wasmBackend();
  const { gemmScratch } = trainingKernels(backend);
  tf.tidy(() => {
    const a = tf.tensor(seededUniform(37 * 300, 1), [37, 300]);
    const b = tf.tensor(seededUniform(300 * 21, 2), [300, 21]);
    const x = tf.tensor(seededUniform(2 * 7 * 7 * 3, 3), [2, 7, 7, 3]);
    const dy = tf.tensor(seededUniform(2 * 4 * 4 * 5, 4), [2, 4, 4, 5]);
    const scratch = tf.zeros([16 * 27]);
    const outputs = [0, 1].map(() => ({ c: tf.zeros([37, 21]), dw: tf.zeros([3, 3, 3, 5]), sums: tf.zeros([21]) }));
    [committed, rebuilt].forEach((fn, i) => {
      const out = outputs[i] as { c: tf.Tensor; dw: tf.Tensor; sums: tf.Tensor };
      fn.gemm(37, 21, 300, heapAddress(backend, a), 300, 1, heapAddress(backend, b), 21, 1, heapAddress(backend, out.c), 21, 0, gemmScratch);
      fn.conv2d_backprop_filter(heapAddress(backend, x), heapAddress(backend, dy), 2, 7, 7, 3, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 5,
        heapAddress(backend, out.dw), heapAddress(backend, scratch), 16, gemmScratch);
      fn.sum_rows(heapAddress(backend, b), 300, 21, 1, heapAddress(backend, out.sums));
    });
    const [first, second] = outputs as [{ c: tf.Tensor; dw: tf.Tensor; sums: tf.Tensor }, { c: tf.Tensor; dw: tf.Tensor; sums: tf.Tensor }];
    assert.deepEqual(second.c.dataSync(), first.c.dataSync());
    assert.deepEqual(second.dw.dataSync(), first.dw.dataSync());
    assert.deepEqual(second.sums.dataSync(), first.sums.dataSync());
  });
}

describe('training-kernels.wasm', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('loads from the installed package onto tfjs-backend-wasm’s heap, once per backend', () => {
    const first = trainingKernels(wasmBackend());
    assert.equal(trainingKernels(wasmBackend()), first);
    assert.ok(first.fn.gemm_scratch_bytes() > 0);
    assert.ok(first.gemmScratch > 0);
  });

  it('has no data section, which instantiation would copy over tfjs’s heap', () => {
    const ids = wasmSectionIds(new Uint8Array(readFileSync(TRAINING_WASM_URL)));
    assert.ok(ids.length > 0);
    assert.ok(!ids.includes(11) && !ids.includes(12), `sections ${ids}`);
  });

  it('is what csrc/ builds to (rebuilt with clang when present)', (t) => {
    const missing = missingToolchain();
    if (missing !== undefined) {
      t.skip(`cannot rebuild: ${missing}`);
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'training-kernels-'));
    try {
      const out = path.join(dir, 'training-kernels.wasm');
      const build = spawnSync('sh', [path.join(packageRoot, 'scripts/build-wasm.sh'), out], { encoding: 'utf8' });
      assert.equal(build.status, 0, `build failed: ${build.stderr}`);
      const rebuilt = readFileSync(out);
      const committed = readFileSync(TRAINING_WASM_URL);
      const compiler = readFileSync(path.join(dir, 'training-kernels.compiler.txt'), 'utf8');
      const committedCompiler = readFileSync(path.join(packageRoot, 'wasm/training-kernels.compiler.txt'), 'utf8');
      if (compiler === committedCompiler) {
        assert.ok(rebuilt.equals(committed), 'wasm/training-kernels.wasm is stale: run scripts/build-wasm.sh and commit it');
      } else {
        // Another clang lays the code out differently; the same source must still compute the same numbers.
        const memory = heapMemory(wasmBackend());
        assertSameResults(
          instantiateTrainingKernels(compileWasm(new Uint8Array(committed)), memory),
          instantiateTrainingKernels(compileWasm(new Uint8Array(rebuilt)), memory),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
