/*
 * Elementwise kernels over [rows, C] where a per-channel vector broadcasts along rows:
 * batch norm's forward and the binary ops its gradient applies with a [C] operand.
 * tfjs-backend-wasm's own broadcasting binary ops cost 4x their same-shape form, and its
 * FusedBatchNorm 15x a plain pass.
 */
#include "common.h"

#define OP_ADD 0
#define OP_SUB 1
#define OP_MUL 2
#define OP_DIV 3

static inline v128_t apply4(int op, v128_t a, v128_t b) {
  switch (op) {
    case OP_ADD: return wasm_f32x4_add(a, b);
    case OP_SUB: return wasm_f32x4_sub(a, b);
    case OP_MUL: return wasm_f32x4_mul(a, b);
    default: return wasm_f32x4_div(a, b);
  }
}

static inline float apply1(int op, float a, float b) {
  switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    default: return a / b;
  }
}

/*
 * out[r, c] = full[r, c] op vec[c], or vec[c] op full[r, c] when vecFirst. The op is a
 * branch per vector, not per element: the compiler hoists it out of the loops.
 */
void EXPORT(binary_rows)(int op, const float* full, const float* vec, int rows, int C, int vecFirst, float* out) {
  for (int r = 0; r < rows; r++) {
    const float* f = full + r * C;
    float* o = out + r * C;
    int c = 0;
    if (vecFirst) {
      for (; c + 4 <= C; c += 4) wasm_v128_store(o + c, apply4(op, wasm_v128_load(vec + c), wasm_v128_load(f + c)));
      for (; c < C; c++) o[c] = apply1(op, vec[c], f[c]);
    } else {
      for (; c + 4 <= C; c += 4) wasm_v128_store(o + c, apply4(op, wasm_v128_load(f + c), wasm_v128_load(vec + c)));
      for (; c < C; c++) o[c] = apply1(op, f[c], vec[c]);
    }
  }
}

/*
 * Batch norm, inference form, per channel: out = (x - mean) * k + offset with
 * k = scale / sqrt(variance + epsilon) formed once per channel in `k` (C floats of the
 * caller's scratch). scale or offset may be 0 (absent: 1 and 0).
 */
void EXPORT(batch_norm)(const float* x, const float* mean, const float* variance, const float* offset,
                        const float* scale, float epsilon, int rows, int C, float* k, float* out) {
  for (int c = 0; c < C; c++) k[c] = (scale ? scale[c] : 1.0f) / __builtin_sqrtf(variance[c] + epsilon);
  for (int r = 0; r < rows; r++) {
    const float* xv = x + r * C;
    float* o = out + r * C;
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      v128_t y = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xv + c), wasm_v128_load(mean + c)), wasm_v128_load(k + c));
      if (offset) y = wasm_f32x4_add(y, wasm_v128_load(offset + c));
      wasm_v128_store(o + c, y);
    }
    for (; c < C; c++) o[c] = (xv[c] - mean[c]) * k[c] + (offset ? offset[c] : 0.0f);
  }
}
