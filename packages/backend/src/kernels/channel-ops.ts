import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../errors.js';

/**
 * Shared by the per-channel batch-norm ops (channel-moments.ts, batch-norm-grad-*.ts):
 * a tensor [..., C] is reduced over every axis but the last.
 */
export function channelCount(op: string, x: tf.Tensor): number {
  const channels = x.shape[x.rank - 1];
  if (x.rank < 2 || channels === undefined || channels < 1 || x.dtype !== 'float32') {
    throw new BackendError('BACKEND_ERR_BAD_SHAPE', `${op}: x must be a float32 tensor [..., C] of rank >= 2, got ${x.dtype} [${x.shape}]`);
  }
  return channels;
}

export function requireSameShape(op: string, x: tf.Tensor, other: tf.Tensor, name: string): void {
  if (other.rank !== x.rank || other.shape.some((d, i) => d !== x.shape[i]) || other.dtype !== 'float32') {
    throw new BackendError('BACKEND_ERR_BAD_SHAPE', `${op}: ${name} must be float32 [${x.shape}] like x, got ${other.dtype} [${other.shape}]`);
  }
}

export function requireChannelVector(op: string, v: tf.Tensor, channels: number, name: string): void {
  if (v.rank !== 1 || v.shape[0] !== channels || v.dtype !== 'float32') {
    throw new BackendError('BACKEND_ERR_BAD_SHAPE', `${op}: ${name} must be float32 [${channels}], got ${v.dtype} [${v.shape}]`);
  }
}

/** Every axis but the last, the axes a per-channel reduction sums over. */
export function leadingAxes(x: tf.Tensor): number[] {
  return Array.from({ length: x.rank - 1 }, (_, i) => i);
}

/** Whether the active backend has `kernelName` (else the ops fall back to tfjs ops). */
export function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
