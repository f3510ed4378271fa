import * as tf from '@tensorflow/tfjs';
import { readsAsyncOnly } from '@tfjs-ddp/backend';

/**
 * Makes the synchronous reads (`dataSync`) of `tensors` that follow work on every backend.
 * webgpu in Node can only read back asynchronously, but it keeps what `data()` read on
 * the CPU, where `dataSync` then finds it; so the trainer's reads stay one synchronous
 * code path, and an async step awaits this just before them. On wasm, cpu and the native
 * backends it does nothing: their steps run exactly as before.
 */
export async function settleReads(tensors: readonly tf.Tensor[]): Promise<void> {
  if (!readsAsyncOnly(tf.getBackend())) return;
  await Promise.all(tensors.map((t) => t.data()));
}
