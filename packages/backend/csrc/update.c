/*
 * The optimizers' updates of @tfjs-ddp/trainer (src/optimizers.ts), one pass over a
 * variable, from the gradient summed over the global batch: the very float32 operations
 * of its tfjs ops, in their order, so the result is the same to the bit. The weight goes
 * from w to new memory w_out (tfjs-backend-wasm bakes weights into cached XNNPACK
 * operators keyed by their tensor, so a weight must never change in place); the
 * optimizer's own state (acc, m1, m2) is updated in place.
 *
 *   g    = sum / count, then g * scale when scaled (global-norm clipping)
 *   base = w - w * lr_wd when decay (decoupled weight decay), else w
 *
 * neg_lr is -lr, and every other float argument is the float32 constant the tfjs op
 * would have made from the same JavaScript number.
 */
#include "common.h"

#define SPLAT wasm_f32x4_splat
#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define MUL wasm_f32x4_mul
#define DIV wasm_f32x4_div

static inline v128_t mean4(const float* sum, v128_t count, int scaled, v128_t scale) {
  v128_t g = DIV(wasm_v128_load(sum), count);
  return scaled ? MUL(g, scale) : g;
}

static inline float mean1(float sum, float count, int scaled, float scale) {
  float g = sum / count;
  return scaled ? g * scale : g;
}

static inline v128_t base4(v128_t w, int decay, v128_t lr_wd) { return decay ? SUB(w, MUL(w, lr_wd)) : w; }
static inline float base1(float w, int decay, float lr_wd) { return decay ? w - w * lr_wd : w; }

/* w_out = neg_lr * g + base */
void EXPORT(sgd_update)(const float* w, float* w_out, const float* sum, int n, float count, int scaled, float scale, float neg_lr, int decay,
                        float lr_wd) {
  const v128_t cnt = SPLAT(count), sc = SPLAT(scale), c = SPLAT(neg_lr), lw = SPLAT(lr_wd);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t g = mean4(sum + i, cnt, scaled, sc);
    wasm_v128_store(w_out + i, ADD(MUL(c, g), base4(wasm_v128_load(w + i), decay, lw)));
  }
  for (; i < n; i++) w_out[i] = neg_lr * mean1(sum[i], count, scaled, scale) + base1(w[i], decay, lr_wd);
}

/* acc = m * acc + g; w_out = neg_lr * (g + acc * m) + base with Nesterov, else neg_lr * acc + base */
void EXPORT(momentum_update)(const float* w, float* w_out, float* acc, const float* sum, int n, float count, int scaled, float scale,
                             float neg_lr, int decay, float lr_wd, float m, int nesterov) {
  const v128_t cnt = SPLAT(count), sc = SPLAT(scale), c = SPLAT(neg_lr), lw = SPLAT(lr_wd), mv = SPLAT(m);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t g = mean4(sum + i, cnt, scaled, sc);
    v128_t a = ADD(MUL(mv, wasm_v128_load(acc + i)), g);
    v128_t base = base4(wasm_v128_load(w + i), decay, lw);
    v128_t step = nesterov ? MUL(c, ADD(g, MUL(a, mv))) : MUL(c, a);
    wasm_v128_store(acc + i, a);
    wasm_v128_store(w_out + i, ADD(step, base));
  }
  for (; i < n; i++) {
    float g = mean1(sum[i], count, scaled, scale);
    float a = m * acc[i] + g;
    float base = base1(w[i], decay, lr_wd);
    float step = nesterov ? neg_lr * (g + a * m) : neg_lr * a;
    acc[i] = a;
    w_out[i] = step + base;
  }
}

/*
 * m1 = m1 * beta1 + g * (1 - beta1); m2 = m2 * beta2 + (g * g) * (1 - beta2);
 * w_out = (m1 / bc1) / (sqrt(m2 / bc2) + epsilon) * neg_lr + base, with bc = 1 - beta^t.
 */
void EXPORT(adam_update)(const float* w, float* w_out, float* m1, float* m2, const float* sum, int n, float count, int scaled, float scale,
                         float neg_lr, int decay, float lr_wd, float beta1, float one_minus_beta1, float beta2,
                         float one_minus_beta2, float bc1, float bc2, float epsilon) {
  const v128_t cnt = SPLAT(count), sc = SPLAT(scale), c = SPLAT(neg_lr), lw = SPLAT(lr_wd);
  const v128_t b1 = SPLAT(beta1), ob1 = SPLAT(one_minus_beta1), b2 = SPLAT(beta2), ob2 = SPLAT(one_minus_beta2);
  const v128_t c1 = SPLAT(bc1), c2 = SPLAT(bc2), eps = SPLAT(epsilon);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t g = mean4(sum + i, cnt, scaled, sc);
    v128_t first = ADD(MUL(wasm_v128_load(m1 + i), b1), MUL(g, ob1));
    v128_t second = ADD(MUL(wasm_v128_load(m2 + i), b2), MUL(MUL(g, g), ob2));
    v128_t ratio = DIV(DIV(first, c1), ADD(wasm_f32x4_sqrt(DIV(second, c2)), eps));
    v128_t base = base4(wasm_v128_load(w + i), decay, lw);
    wasm_v128_store(m1 + i, first);
    wasm_v128_store(m2 + i, second);
    wasm_v128_store(w_out + i, ADD(MUL(ratio, c), base));
  }
  for (; i < n; i++) {
    float g = mean1(sum[i], count, scaled, scale);
    float first = m1[i] * beta1 + g * one_minus_beta1;
    float second = m2[i] * beta2 + (g * g) * one_minus_beta2;
    float ratio = (first / bc1) / (__builtin_sqrtf(second / bc2) + epsilon);
    float base = base1(w[i], decay, lr_wd);
    m1[i] = first;
    m2[i] = second;
    w_out[i] = ratio * neg_lr + base;
  }
}
