import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { JobConfig } from '@tfjs-ddp/protocol';
import { formatChecksums, parseChecksums, sha256Hex } from './checksums.js';
import { CHECKSUM_FILE, type Checkpoint } from './checkpoint-types.js';

/** Shared by the checkpoint tests: a small but structurally real checkpoint, and file surgery. */

export const CONFIG: JobConfig = { model: 'cnn-bn', dataset: 'mnist', epochs: 2, globalBatch: 64, optimizer: { name: 'adam', learningRate: 0.001 }, seed: 3 };

/** A dense layer's kernel [3, 2] and bias [2] as a plain tfjs model folder; Adam's m and v for each in the state. */
export function sampleCheckpoint(step: number, fill = step): Checkpoint {
  const modelJson = JSON.stringify({
    modelTopology: { class_name: 'Sequential', config: { name: 'm', layers: [] } },
    format: 'layers-model',
    weightsManifest: [
      {
        paths: ['./weights.bin'],
        weights: [
          { name: 'dense/kernel', shape: [3, 2], dtype: 'float32' },
          { name: 'dense/bias', shape: [2], dtype: 'float32' },
        ],
      },
    ],
  });
  const weights = new Uint8Array(new Float32Array(8).map((_, i) => fill + i / 8).buffer);
  const stateLayout = ['dense/kernel', 'dense/bias'].flatMap((name) => {
    const shape = name.endsWith('kernel') ? [3, 2] : [2];
    return [{ name, shape }, { name: `${name}/m`, shape }, { name: `${name}/v`, shape }];
  });
  const state = new Float32Array(24).map((_, i) => fill * 100 + i + 0.5);
  return {
    step,
    epoch: Math.floor(step / 100),
    config: CONFIG,
    sampler: { seed: CONFIG.seed, epoch: Math.floor(step / 100), position: step % 100 },
    modelJson,
    weights,
    state,
    stateLayout,
    meta: { note: `step ${step}`, speeds: [1.5, 2] },
  };
}

export async function tempRunDir(): Promise<{ runDir: string; cleanup: () => Promise<void> }> {
  const runDir = await mkdtemp(path.join(tmpdir(), 'tfjs-ddp-checkpoint-'));
  return { runDir, cleanup: () => rm(runDir, { recursive: true, force: true }) };
}

/** Flips the lowest bit of one byte in the middle of a file: the smallest damage there is. */
export async function flipByte(file: string): Promise<void> {
  const data = await readFile(file);
  const at = Math.floor(data.byteLength / 2);
  data[at] = (data[at] as number) ^ 1;
  await writeFile(file, data);
}

/** Rewrites one file of a checkpoint and its checksum line: damage the checksums cannot see, as a buggy writer would leave. */
export async function rewriteWithChecksum(dir: string, file: string, data: string | Uint8Array): Promise<void> {
  await writeFile(path.join(dir, file), data);
  const sums = parseChecksums(await readFile(path.join(dir, CHECKSUM_FILE), 'utf8'));
  if (typeof sums === 'string') throw new Error(sums);
  sums.set(file, sha256Hex(data));
  await writeFile(path.join(dir, CHECKSUM_FILE), formatChecksums(sums));
}
