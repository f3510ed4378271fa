/*
 * Per-channel reductions of a [rows, C] matrix (an NHWC tensor seen as rows of channels):
 * out[c] = sum over r of x[r, c]. Sums of 64 rows are formed in float32 and added into
 * float64 accumulators, so the result of 50 000 rows keeps about the accuracy of tfjs's
 * cpu backend (which sums in float64).
 */
#include "common.h"

#define BLOCK 64

/* Adds the four float32 lanes of s to the float64 pairs lo (lanes 0, 1) and hi (2, 3). */
#define FOLD(s, lo, hi)                                                         \
  do {                                                                          \
    lo = wasm_f64x2_add(lo, wasm_f64x2_promote_low_f32x4(s));                   \
    hi = wasm_f64x2_add(hi, wasm_f64x2_promote_low_f32x4(                       \
                                wasm_i32x4_shuffle(s, s, 2, 3, 2, 3)));         \
  } while (0)

#define STORE4(out, lo, hi, scale)                                                                   \
  wasm_v128_store(out, wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(lo, scale)),   \
                                          wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(hi, scale)), 0, \
                                          1, 4, 5))

/* out[c] = scale * sum_r x[r * C + c]; scale 1 gives the sum, 1 / rows the mean. */
void EXPORT(sum_rows)(const float* x, int rows, int C, double scale, float* out) {
  const v128_t sc = wasm_f64x2_splat(scale);
  int c = 0;
  for (; c + 8 <= C; c += 8) {
    v128_t d0 = wasm_f64x2_splat(0.0), d1 = d0, d2 = d0, d3 = d0;
    for (int r0 = 0; r0 < rows; r0 += BLOCK) {
      int r1 = min_i(rows, r0 + BLOCK);
      v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0;
      for (const float* p = x + r0 * C + c; p < x + r1 * C + c; p += C) {
        s0 = wasm_f32x4_add(s0, wasm_v128_load(p));
        s1 = wasm_f32x4_add(s1, wasm_v128_load(p + 4));
      }
      FOLD(s0, d0, d1);
      FOLD(s1, d2, d3);
    }
    STORE4(out + c, d0, d1, sc);
    STORE4(out + c + 4, d2, d3, sc);
  }
  for (; c + 4 <= C; c += 4) {
    v128_t d0 = wasm_f64x2_splat(0.0), d1 = d0;
    for (int r0 = 0; r0 < rows; r0 += BLOCK) {
      int r1 = min_i(rows, r0 + BLOCK);
      v128_t s0 = wasm_f32x4_splat(0.0f);
      for (const float* p = x + r0 * C + c; p < x + r1 * C + c; p += C) s0 = wasm_f32x4_add(s0, wasm_v128_load(p));
      FOLD(s0, d0, d1);
    }
    STORE4(out + c, d0, d1, sc);
  }
  for (; c < C; c++) {
    double d = 0.0;
    for (int r0 = 0; r0 < rows; r0 += BLOCK) {
      int r1 = min_i(rows, r0 + BLOCK);
      float s = 0.0f;
      for (int r = r0; r < r1; r++) s += x[r * C + c];
      d += s;
    }
    out[c] = (float)(d * scale);
  }
}

/*
 * Batch-norm backward sums per channel: sumDy[c] = sum_r dy[r, c] and
 * sumDyXmu[c] = sum_r dy[r, c] * (x[r, c] - mean[c]), in one pass over dy and x.
 */
void EXPORT(bn_grad_sums)(const float* dy, const float* x, const float* mean, int rows, int C, float* sumDy,
                          float* sumDyXmu) {
  const v128_t one = wasm_f64x2_splat(1.0);
  int c = 0;
  for (; c + 4 <= C; c += 4) {
    const v128_t m = wasm_v128_load(mean + c);
    v128_t a0 = wasm_f64x2_splat(0.0), a1 = a0, b0 = a0, b1 = a0;
    for (int r0 = 0; r0 < rows; r0 += BLOCK) {
      int r1 = min_i(rows, r0 + BLOCK);
      v128_t s = wasm_f32x4_splat(0.0f), t = s;
      for (int r = r0; r < r1; r++) {
        v128_t g = wasm_v128_load(dy + r * C + c);
        s = wasm_f32x4_add(s, g);
        t = wasm_f32x4_add(t, wasm_f32x4_mul(g, wasm_f32x4_sub(wasm_v128_load(x + r * C + c), m)));
      }
      FOLD(s, a0, a1);
      FOLD(t, b0, b1);
    }
    STORE4(sumDy + c, a0, a1, one);
    STORE4(sumDyXmu + c, b0, b1, one);
  }
  for (; c < C; c++) {
    double a = 0.0, b = 0.0;
    for (int r0 = 0; r0 < rows; r0 += BLOCK) {
      int r1 = min_i(rows, r0 + BLOCK);
      float s = 0.0f, t = 0.0f;
      for (int r = r0; r < r1; r++) {
        float g = dy[r * C + c];
        s += g;
        t += g * (x[r * C + c] - mean[c]);
      }
      a += s;
      b += t;
    }
    sumDy[c] = (float)a;
    sumDyXmu[c] = (float)b;
  }
}

/* Batch-norm input gradient: dx[r, c] = k[c] * (dy[r, c] - a[c] - (x[r, c] - mean[c]) * b[c]). */
void EXPORT(bn_grad_input)(const float* dy, const float* x, const float* mean, const float* k, const float* a,
                           const float* b, int rows, int C, float* dx) {
  for (int r = 0; r < rows; r++) {
    const float* g = dy + r * C;
    const float* xv = x + r * C;
    float* d = dx + r * C;
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      v128_t xmu = wasm_f32x4_sub(wasm_v128_load(xv + c), wasm_v128_load(mean + c));
      v128_t inner = wasm_f32x4_sub(wasm_f32x4_sub(wasm_v128_load(g + c), wasm_v128_load(a + c)),
                                    wasm_f32x4_mul(xmu, wasm_v128_load(b + c)));
      wasm_v128_store(d + c, wasm_f32x4_mul(wasm_v128_load(k + c), inner));
    }
    for (; c < C; c++) d[c] = k[c] * (g[c] - a[c] - (xv[c] - mean[c]) * b[c]);
  }
}

/* Sum of squared deviations per channel: m2[c] = sum_r (x[r, c] - mean[c])^2 (Chan's M2). */
void EXPORT(channel_m2)(const float* x, const float* mean, int rows, int C, float* m2) {
  const v128_t one = wasm_f64x2_splat(1.0);
  int c = 0;
  for (; c + 4 <= C; c += 4) {
    const v128_t m = wasm_v128_load(mean + c);
    v128_t d0 = wasm_f64x2_splat(0.0), d1 = d0;
    for (int r0 = 0; r0 < rows; r0 += BLOCK) {
      int r1 = min_i(rows, r0 + BLOCK);
      v128_t s = wasm_f32x4_splat(0.0f);
      for (int r = r0; r < r1; r++) {
        v128_t dev = wasm_f32x4_sub(wasm_v128_load(x + r * C + c), m);
        s = wasm_f32x4_add(s, wasm_f32x4_mul(dev, dev));
      }
      FOLD(s, d0, d1);
    }
    STORE4(m2 + c, d0, d1, one);
  }
  for (; c < C; c++) {
    double d = 0.0;
    for (int r0 = 0; r0 < rows; r0 += BLOCK) {
      int r1 = min_i(rows, r0 + BLOCK);
      float s = 0.0f;
      for (int r = r0; r < r1; r++) {
        float dev = x[r * C + c] - mean[c];
        s += dev * dev;
      }
      d += s;
    }
    m2[c] = (float)d;
  }
}
