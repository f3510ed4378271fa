/*
 * Gradients of NHWC depthwise convolutions (tfjs-backend-wasm has neither): direct loops,
 * four channels at a time when the channel multiplier is 1.
 */
#include "common.h"

/*
 * Depthwise filter gradient: dw[fh, fw, c, m] = sum over (b, oh, ow) of
 * x[b, ih, iw, c] * dy[b, oh, ow, c * mult + m].
 */
void EXPORT(depthwise_backprop_filter)(const float* x, const float* dy, int batch, int inH, int inW, int inC, int outH,
                                       int outW, int fH, int fW, int sH, int sW, int padTop, int padLeft, int mult,
                                       float* dw) {
  const int outC = inC * mult;
  zero_f32(dw, fH * fW * outC);
  for (int b = 0; b < batch; b++) {
    for (int oh = 0; oh < outH; oh++) {
      for (int ow = 0; ow < outW; ow++) {
        const float* g = dy + ((b * outH + oh) * outW + ow) * outC;
        for (int fh = 0; fh < fH; fh++) {
          int ih = oh * sH + fh - padTop;
          if (ih < 0 || ih >= inH) continue;
          for (int fw = 0; fw < fW; fw++) {
            int iw = ow * sW + fw - padLeft;
            if (iw < 0 || iw >= inW) continue;
            const float* xv = x + ((b * inH + ih) * inW + iw) * inC;
            float* w = dw + (fh * fW + fw) * outC;
            if (mult == 1) {
              int c = 0;
              for (; c + 4 <= inC; c += 4) {
                v128_t prod = wasm_f32x4_mul(wasm_v128_load(xv + c), wasm_v128_load(g + c));
                wasm_v128_store(w + c, wasm_f32x4_add(wasm_v128_load(w + c), prod));
              }
              for (; c < inC; c++) w[c] += xv[c] * g[c];
            } else {
              for (int c = 0; c < inC; c++) {
                for (int m = 0; m < mult; m++) w[c * mult + m] += xv[c] * g[c * mult + m];
              }
            }
          }
        }
      }
    }
  }
}

/*
 * Depthwise input gradient: dx[b, ih, iw, c] = sum over the outputs (oh, ow) whose window
 * covers (ih, iw) and over m of dy[b, oh, ow, c * mult + m] * w[fh, fw, c, m].
 */
void EXPORT(depthwise_backprop_input)(const float* dy, const float* w, int batch, int inH, int inW, int inC, int outH,
                                      int outW, int fH, int fW, int sH, int sW, int padTop, int padLeft, int mult,
                                      float* dx) {
  const int outC = inC * mult;
  zero_f32(dx, batch * inH * inW * inC);
  for (int b = 0; b < batch; b++) {
    for (int oh = 0; oh < outH; oh++) {
      for (int ow = 0; ow < outW; ow++) {
        const float* g = dy + ((b * outH + oh) * outW + ow) * outC;
        for (int fh = 0; fh < fH; fh++) {
          int ih = oh * sH + fh - padTop;
          if (ih < 0 || ih >= inH) continue;
          for (int fw = 0; fw < fW; fw++) {
            int iw = ow * sW + fw - padLeft;
            if (iw < 0 || iw >= inW) continue;
            float* d = dx + ((b * inH + ih) * inW + iw) * inC;
            const float* wv = w + (fh * fW + fw) * outC;
            if (mult == 1) {
              int c = 0;
              for (; c + 4 <= inC; c += 4) {
                v128_t prod = wasm_f32x4_mul(wasm_v128_load(g + c), wasm_v128_load(wv + c));
                wasm_v128_store(d + c, wasm_f32x4_add(wasm_v128_load(d + c), prod));
              }
              for (; c < inC; c++) d[c] += g[c] * wv[c];
            } else {
              for (int c = 0; c < inC; c++) {
                float s = 0.0f;
                for (int m = 0; m < mult; m++) s += g[c * mult + m] * wv[c * mult + m];
                d[c] += s;
              }
            }
          }
        }
      }
    }
  }
}
