/*
 * MaxPoolGrad for NHWC: every output routes its gradient to the first position of its
 * window holding the window's maximum (strictly greater than all before it, starting
 * from -inf), as tfjs's cpu backend does; a window of only NaN or -inf routes nothing.
 * Four channels at a time: the channel axis is contiguous in NHWC.
 */
#include "common.h"

/*
 * Windows that tile the input exactly (pool size = stride, no padding, the common 2x2/2):
 * every dx element belongs to one window, so each is written once, dy or 0, with no
 * zeroing pass and no scalar scatter.
 */
static void max_pool_grad_tiled(const float* x, const float* dy, int batch, int inH, int inW, int C, int outH,
                                int outW, int fH, int fW, float* dx) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int b = 0; b < batch; b++) {
    for (int oh = 0; oh < outH; oh++) {
      for (int ow = 0; ow < outW; ow++) {
        const int corner = ((b * inH + oh * fH) * inW + ow * fW) * C;
        const float* g = dy + ((b * outH + oh) * outW + ow) * C;
        for (int c = 0; c < C; c += 4) {
          v128_t best = wasm_f32x4_splat(-__builtin_inff());
          v128_t where = wasm_i32x4_splat(-1);
          for (int k = 0; k < fH * fW; k++) {
            v128_t v = wasm_v128_load(x + corner + ((k / fW) * inW + k % fW) * C + c);
            v128_t greater = wasm_f32x4_gt(v, best);
            best = wasm_v128_bitselect(v, best, greater);
            where = wasm_v128_bitselect(wasm_i32x4_splat(k), where, greater);
          }
          v128_t grad = wasm_v128_load(g + c);
          for (int k = 0; k < fH * fW; k++) {
            v128_t mine = wasm_i32x4_eq(where, wasm_i32x4_splat(k));
            wasm_v128_store(dx + corner + ((k / fW) * inW + k % fW) * C + c, wasm_v128_bitselect(grad, zero, mine));
          }
        }
      }
    }
  }
}

void EXPORT(max_pool_grad)(const float* x, const float* dy, int batch, int inH, int inW, int C, int outH, int outW,
                           int fH, int fW, int sH, int sW, int dH, int dW, int padTop, int padLeft, float* dx) {
  if (fH == sH && fW == sW && dH == 1 && dW == 1 && padTop == 0 && padLeft == 0 && outH * sH == inH &&
      outW * sW == inW && C % 4 == 0) {
    max_pool_grad_tiled(x, dy, batch, inH, inW, C, outH, outW, fH, fW, dx);
    return;
  }
  zero_f32(dx, batch * inH * inW * C);
  const v128_t none = wasm_i32x4_splat(-1);
  for (int b = 0; b < batch; b++) {
    const float* xb = x + b * inH * inW * C;
    float* db = dx + b * inH * inW * C;
    for (int oh = 0; oh < outH; oh++) {
      for (int ow = 0; ow < outW; ow++) {
        const float* g = dy + ((b * outH + oh) * outW + ow) * C;
        for (int c = 0; c < C; c += 4) {
          int lanes = min_i(4, C - c);
          v128_t best = wasm_f32x4_splat(-__builtin_inff());
          v128_t where = none;
          if (lanes == 4) {
            for (int fh = 0; fh < fH; fh++) {
              int ih = oh * sH + fh * dH - padTop;
              if (ih < 0 || ih >= inH) continue;
              for (int fw = 0; fw < fW; fw++) {
                int iw = ow * sW + fw * dW - padLeft;
                if (iw < 0 || iw >= inW) continue;
                int at = (ih * inW + iw) * C + c;
                v128_t v = wasm_v128_load(xb + at);
                v128_t greater = wasm_f32x4_gt(v, best);
                best = wasm_v128_bitselect(v, best, greater);
                where = wasm_v128_bitselect(wasm_i32x4_splat(at), where, greater);
              }
            }
            int w0 = wasm_i32x4_extract_lane(where, 0), w1 = wasm_i32x4_extract_lane(where, 1);
            int w2 = wasm_i32x4_extract_lane(where, 2), w3 = wasm_i32x4_extract_lane(where, 3);
            if (w0 >= 0) db[w0] += g[c];
            if (w1 >= 0) db[w1 + 1] += g[c + 1];
            if (w2 >= 0) db[w2 + 2] += g[c + 2];
            if (w3 >= 0) db[w3 + 3] += g[c + 3];
            continue;
          }
          for (int l = 0; l < lanes; l++) {
            float bestValue = -__builtin_inff();
            int at = -1;
            for (int fh = 0; fh < fH; fh++) {
              int ih = oh * sH + fh * dH - padTop;
              if (ih < 0 || ih >= inH) continue;
              for (int fw = 0; fw < fW; fw++) {
                int iw = ow * sW + fw * dW - padLeft;
                if (iw < 0 || iw >= inW) continue;
                int i = (ih * inW + iw) * C + c + l;
                if (xb[i] > bestValue) {
                  bestValue = xb[i];
                  at = i;
                }
              }
            }
            if (at >= 0) db[at] += g[c + l];
          }
        }
      }
    }
  }
}
