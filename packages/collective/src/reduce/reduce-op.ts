import { collectiveError } from '../errors.js';
import { engineOf } from './reduce-engine.js';

/** Reductions offered to callers. `mean` is a sum divided by the group size at the end. */
export const REDUCE_OPS = ['sum', 'mean', 'max'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

/** What the algorithms combine with: `mean` travels as `sum`. */
export type CombineOp = 'sum' | 'max';

export function combineOpOf(op: ReduceOp): CombineOp {
  return op === 'max' ? 'max' : 'sum';
}

export function checkReduceOp(op: unknown): ReduceOp {
  if (typeof op !== 'string' || !(REDUCE_OPS as readonly string[]).includes(op)) {
    throw collectiveError('COLL_ERR_ARGUMENT', `reduce op must be one of ${REDUCE_OPS.join(', ')}, got ${String(op)}`);
  }
  return op as ReduceOp;
}

/**
 * dst[i] = dst[i] (op) src[i]. Runs the wasm SIMD kernel when both lie in one registered
 * shared memory (`reduce-engine.ts`), else a plain loop; both are commutative bit for bit
 * for signed zeros, so every path gives partners the same bits.
 */
export function combineInto(dst: Float32Array, src: Float32Array, op: CombineOp): void {
  const n = dst.length;
  const engine = n >= 16 && src.buffer === dst.buffer ? engineOf(dst) : undefined;
  if (engine) {
    if (op === 'sum') engine.kernels.sum(dst.byteOffset, src.byteOffset, n);
    else engine.kernels.max(dst.byteOffset, src.byteOffset, n);
    return;
  }
  if (op === 'sum') {
    for (let i = 0; i < n; i++) dst[i] = (dst[i] as number) + (src[i] as number);
  } else {
    for (let i = 0; i < n; i++) dst[i] = maxOf(dst[i] as number, src[i] as number);
  }
}

/** dst[i] = src[i] / divisor — the last step of `mean`, identical on every rank. */
export function divideInto(dst: Float32Array, src: Float32Array, divisor: number): void {
  const n = dst.length;
  const engine = n >= 16 && src.buffer === dst.buffer ? engineOf(dst) : undefined;
  if (engine) {
    engine.kernels.div(dst.byteOffset, src.byteOffset, n, divisor);
    return;
  }
  for (let i = 0; i < n; i++) dst[i] = (src[i] as number) / divisor;
}

/**
 * max that is commutative bit for bit, so two ranks combining (a, b) and (b, a) — as
 * recursive doubling does — store the same bits: +0 beats -0 either way round, and any
 * NaN gives the one canonical NaN (a diverged replica must not be hidden, as in torch).
 */
function maxOf(a: number, b: number): number {
  if (a > b) return a;
  if (b > a) return b;
  if (a === b) return a === 0 ? a + b : a;
  return NaN;
}
