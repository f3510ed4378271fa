/*
 * The elementwise pieces of a dense layer's training step around its two products
 * (see src/dense/dense-stack.ts): the forward epilogue (bias, relu) and the relu mask of
 * the backward pass, each one pass over [rows, units] in place.
 */
#include "common.h"

/* z[r, c] = z[r, c] + bias[c] (bias may be 0: none), then max(z, 0) when relu: a dense layer's output from z = x·W. */
void EXPORT(dense_bias_act)(float* z, const float* bias, int rows, int units, int relu) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int r = 0; r < rows; r++) {
    float* row = z + r * units;
    int c = 0;
    for (; c + 4 <= units; c += 4) {
      v128_t v = wasm_v128_load(row + c);
      if (bias) v = wasm_f32x4_add(v, wasm_v128_load(bias + c));
      // Like tfjs's relu: x < 0 ? 0 : x (NaN stays NaN).
      if (relu) v = wasm_v128_bitselect(zero, v, wasm_f32x4_lt(v, zero));
      wasm_v128_store(row + c, v);
    }
    for (; c < units; c++) {
      float v = row[c];
      if (bias) v = v + bias[c];
      if (relu) v = v < 0.0f ? 0.0f : v;
      row[c] = v;
    }
  }
}

/*
 * dy[i] = dy[i] * step(y[i]) over n values: relu's gradient from its output y = relu(z),
 * where y > 0 exactly when z > 0 (tfjs: dy * (z > 0 ? 1 : 0)).
 */
void EXPORT(relu_grad)(float* dy, const float* y, int n) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  const v128_t one = wasm_f32x4_splat(1.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t step = wasm_v128_and(wasm_f32x4_gt(wasm_v128_load(y + i), zero), one);
    wasm_v128_store(dy + i, wasm_f32x4_mul(wasm_v128_load(dy + i), step));
  }
  for (; i < n; i++) dy[i] = dy[i] * (y[i] > 0.0f ? 1.0f : 0.0f);
}
