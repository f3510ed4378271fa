import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../select-backend.js';

/**
 * Helpers of the kernel tests: run one computation on the cpu backend (the reference) and
 * on wasm with this package's kernels, from the same plain-array inputs, and compare.
 */

/** Registers the training kernels and makes wasm loadable; call once per test file. */
export async function initBothBackends(): Promise<void> {
  await initBackend('wasm');
  await tf.setBackend('cpu');
}

/** Uniform values in [-1, 1) from a seeded generator (mulberry32), so failures reproduce. */
export function seededUniform(size: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 * 2 - 1;
  }
  return out;
}

export interface BackendResults {
  cpu: Float32Array[];
  wasm: Float32Array[];
  shapes: number[][];
}

/** Runs `compute` on cpu, then on wasm, and returns every output's values (tensors are disposed). */
export async function runOnBoth(compute: () => tf.Tensor | tf.Tensor[]): Promise<BackendResults> {
  const results: Partial<Record<'cpu' | 'wasm', Float32Array[]>> = {};
  let shapes: number[][] = [];
  for (const name of ['cpu', 'wasm'] as const) {
    await tf.setBackend(name);
    results[name] = tf.tidy(() => {
      const out = compute();
      const list = Array.isArray(out) ? out : [out];
      shapes = list.map((t) => t.shape);
      return list.map((t) => Float32Array.from(t.dataSync()));
    });
  }
  await tf.setBackend('cpu');
  return { cpu: results.cpu ?? [], wasm: results.wasm ?? [], shapes };
}

/**
 * Asserts |wasm - cpu| <= tolerance * (1 + max |cpu|) element by element: a relative
 * bound on the output's scale, since float32 sums in another order differ by a few ulps
 * of the largest terms, not of each element.
 */
export function assertClose(results: BackendResults, tolerance: number, label: string): void {
  assert.equal(results.wasm.length, results.cpu.length, `${label}: number of outputs`);
  results.cpu.forEach((expected, k) => {
    const actual = results.wasm[k] as Float32Array;
    assert.equal(actual.length, expected.length, `${label}: size of output ${k}`);
    let scale = 0;
    for (const v of expected) scale = Math.max(scale, Math.abs(v));
    const bound = tolerance * (1 + scale);
    for (let i = 0; i < expected.length; i++) {
      const diff = Math.abs((actual[i] as number) - (expected[i] as number));
      if (!(diff <= bound)) {
        assert.fail(`${label}: output ${k}[${i}] is ${actual[i]} on wasm, ${expected[i]} on cpu (|diff| ${diff} > ${bound})`);
      }
    }
  });
}

/** A kernel call on whichever backend is active, from plain arrays. */
export function runKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as never) as tf.Tensor;
}
