import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The two files of a tfjs layers model folder. */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Writes a file so that a reader sees either the old or the whole new content (temp file, fsync, rename). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const temp = `${file}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(temp, data);
  const fd = openSync(temp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}

/**
 * Writes a model folder from its bytes: what the coordinator does with the model rank 0
 * sends, without loading tfjs. Weights first, so a model.json never names weights that
 * are not all there.
 */
export function writeModelFolder(dir: string, modelJson: string, weights: Uint8Array): string {
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, WEIGHTS_BIN), weights);
  const jsonPath = path.join(dir, MODEL_JSON);
  writeFileAtomic(jsonPath, modelJson);
  return jsonPath;
}
