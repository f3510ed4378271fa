/*
 * NHWC convolutions as gemms over patch matrices. Row p = (b, oh, ow) of a patch matrix
 * holds the input under the filter at output position p, in filter order (fh, fw, c):
 * T = fH * fW * inC values, zeros where the filter hangs over the padding.
 *
 * The patch matrix of a whole batch is large (50 176 x 144 floats for a 3x3x16 conv of
 * 64 28x28 images: 29 MB), so every driver below works through it in blocks of rows that
 * stay in cache: patches of a block, one gemm, and (for the input gradient) the scatter
 * back, before the next block.
 */
#include "common.h"

/* The shape of one convolution, as the drivers receive it. */
#define GEOMETRY_PARAMS                                                                                          \
  int batch, int inH, int inW, int inC, int outH, int outW, int fH, int fW, int sH, int sW, int dH, int dW, \
      int padTop, int padLeft
#define GEOMETRY_ARGS batch, inH, inW, inC, outH, outW, fH, fW, sH, sW, dH, dW, padTop, padLeft

/*
 * Patch rows [p0, p1) for inputs of 1 to 3 channels (a network's first layer): per row
 * of output positions and per filter tap, a strided copy over the positions whose input
 * lies inside the image, instead of a few floats per position and tap.
 */
static void patches_narrow(const float* x, GEOMETRY_PARAMS, int p0, int p1, float* rows) {
  (void)batch;
  const int rowLen = fH * fW * inC;
  const int perImage = outH * outW;
  for (int p = p0; p < p1;) {
    const int b = p / perImage, oh = (p % perImage) / outW, ow0 = p % outW;
    const int ow1 = min_i(outW, ow0 + (p1 - p));
    float* base = rows + (p - p0) * rowLen;
    const float* xb = x + b * inH * inW * inC;
    for (int fh = 0; fh < fH; fh++) {
      const int ih = oh * sH + fh * dH - padTop;
      for (int fw = 0; fw < fW; fw++) {
        float* dst = base + (fh * fW + fw) * inC;
        const int shift = fw * dW - padLeft;
        // Positions ow whose input column ow * sW + shift lies in [0, inW).
        int lo = shift >= 0 ? 0 : ceil_div(-shift, sW);
        int hi = inW - 1 - shift < 0 ? 0 : (inW - 1 - shift) / sW + 1;
        if (ih < 0 || ih >= inH) lo = hi = ow0;
        lo = max_i(ow0, min_i(lo, ow1));
        hi = max_i(lo, min_i(hi, ow1));
        const float* xr = xb + ih * inW * inC;
        for (int ow = ow0; ow < lo; ow++) for (int c = 0; c < inC; c++) dst[(ow - ow0) * rowLen + c] = 0.0f;
        for (int ow = lo; ow < hi; ow++) {
          const float* src = xr + (ow * sW + shift) * inC;
          for (int c = 0; c < inC; c++) dst[(ow - ow0) * rowLen + c] = src[c];
        }
        for (int ow = hi; ow < ow1; ow++) for (int c = 0; c < inC; c++) dst[(ow - ow0) * rowLen + c] = 0.0f;
      }
    }
    p += ow1 - ow0;
  }
}

/* Patch rows [p0, p1) of x into rows (row length fH * fW * inC). */
static void patches(const float* x, GEOMETRY_PARAMS, int p0, int p1, float* rows) {
  if (inC < 4) {
    patches_narrow(x, GEOMETRY_ARGS, p0, p1, rows);
    return;
  }
  const int rowLen = fH * fW * inC;
  const int perImage = outH * outW;
  int b = p0 / perImage, oh = (p0 % perImage) / outW, ow = p0 % outW;
  for (int p = p0; p < p1; p++, rows += rowLen) {
    const float* xb = x + b * inH * inW * inC;
    float* dst = rows;
    for (int fh = 0; fh < fH; fh++) {
      int ih = oh * sH + fh * dH - padTop;
      if (ih < 0 || ih >= inH) {
        zero_f32(dst, fW * inC);
        dst += fW * inC;
        continue;
      }
      const float* xr = xb + ih * inW * inC;
      int iw0 = ow * sW - padLeft;
      if (dW == 1 && iw0 >= 0 && iw0 + fW <= inW) {
        // The whole filter row lies inside the image: fW * inC contiguous floats.
        copy_f32(dst, xr + iw0 * inC, fW * inC);
        dst += fW * inC;
        continue;
      }
      for (int fw = 0; fw < fW; fw++, dst += inC) {
        int iw = iw0 + fw * dW;
        if (iw < 0 || iw >= inW) {
          zero_f32(dst, inC);
        } else {
          copy_f32(dst, xr + iw * inC, inC);
        }
      }
    }
    if (++ow == outW) {
      ow = 0;
      if (++oh == outH) oh = 0, b++;
    }
  }
}

/* The adjoint of `patches`: rows [p0, p1) added back onto dx where they came from. */
static void scatter_patches(const float* rows, GEOMETRY_PARAMS, int p0, int p1, float* dx) {
  (void)batch;
  const int rowLen = fH * fW * inC;
  const int perImage = outH * outW;
  int b = p0 / perImage, oh = (p0 % perImage) / outW, ow = p0 % outW;
  for (int p = p0; p < p1; p++, rows += rowLen) {
    float* db = dx + b * inH * inW * inC;
    const float* src = rows;
    for (int fh = 0; fh < fH; fh++) {
      int ih = oh * sH + fh * dH - padTop;
      if (ih < 0 || ih >= inH) {
        src += fW * inC;
        continue;
      }
      float* dr = db + ih * inW * inC;
      int iw0 = ow * sW - padLeft;
      if (dW == 1 && iw0 >= 0 && iw0 + fW <= inW) {
        add_into_f32(dr + iw0 * inC, src, fW * inC);
        src += fW * inC;
        continue;
      }
      for (int fw = 0; fw < fW; fw++, src += inC) {
        int iw = iw0 + fw * dW;
        if (iw >= 0 && iw < inW) add_into_f32(dr + iw * inC, src, inC);
      }
    }
    if (++ow == outW) {
      ow = 0;
      if (++oh == outH) oh = 0, b++;
    }
  }
}

/* 1x1 filter, stride 1, no padding: the patch matrix is x itself. */
static int pointwise(GEOMETRY_PARAMS) {
  (void)batch, (void)inC, (void)dH, (void)dW;
  return fH == 1 && fW == 1 && sH == 1 && sW == 1 && padTop == 0 && padLeft == 0 && outH == inH && outW == inW;
}

/*
 * out[p, o] = act(sum_t patch[p, t] * w[t, o] + bias[o]) for outC filters; bias may be 0
 * (none), act is the identity or relu. `cols` has room for blockRows patch rows.
 */
void EXPORT(conv2d_forward)(const float* x, const float* w, const float* bias, GEOMETRY_PARAMS, int outC, int relu,
                            float* out, float* cols, int blockRows, float* gemmScratch) {
  const int T = fH * fW * inC, P = batch * outH * outW;
  const int direct = pointwise(GEOMETRY_ARGS);
  for (int p0 = 0; p0 < P; p0 += blockRows) {
    int p1 = min_i(P, p0 + blockRows);
    const float* a = x + p0 * inC;
    if (!direct) {
      patches(x, GEOMETRY_ARGS, p0, p1, cols);
      a = cols;
    }
    float* o = out + p0 * outC;
    gemm(p1 - p0, outC, T, a, T, 1, w, outC, 1, o, outC, 0, gemmScratch);
    if (!bias && !relu) continue;
    for (int r = 0; r < p1 - p0; r++, o += outC) {
      int c = 0;
      for (; c + 4 <= outC; c += 4) {
        v128_t v = wasm_v128_load(o + c);
        if (bias) v = wasm_f32x4_add(v, wasm_v128_load(bias + c));
        if (relu) v = wasm_f32x4_max(v, wasm_f32x4_splat(0.0f));
        wasm_v128_store(o + c, v);
      }
      for (; c < outC; c++) {
        float v = o[c] + (bias ? bias[c] : 0.0f);
        o[c] = relu && !(v > 0.0f) ? 0.0f : v;
      }
    }
  }
}

/* dw[t, o] = sum_p patch[p, t] * dy[p, o], the patch matrix read transposed by the gemm. */
void EXPORT(conv2d_backprop_filter)(const float* x, const float* dy, GEOMETRY_PARAMS, int outC, float* dw, float* cols,
                                    int blockRows, float* gemmScratch) {
  const int T = fH * fW * inC, P = batch * outH * outW;
  const int direct = pointwise(GEOMETRY_ARGS);
  if (P == 0) zero_f32(dw, T * outC);
  for (int p0 = 0; p0 < P; p0 += blockRows) {
    int p1 = min_i(P, p0 + blockRows);
    const float* a = x + p0 * inC;
    if (!direct) {
      patches(x, GEOMETRY_ARGS, p0, p1, cols);
      a = cols;
    }
    gemm(T, outC, p1 - p0, a, 1, T, dy + p0 * outC, outC, 1, dw, outC, p0 > 0, gemmScratch);
  }
}

/* dx = scatter of (dy · wᵀ) rows: each block's rows go back onto dx while in cache. */
void EXPORT(conv2d_backprop_input)(const float* dy, const float* w, GEOMETRY_PARAMS, int outC, float* dx, float* cols,
                                   int blockRows, float* gemmScratch) {
  const int T = fH * fW * inC, P = batch * outH * outW;
  if (pointwise(GEOMETRY_ARGS)) {
    gemm(P, T, outC, dy, outC, 1, w, 1, outC, dx, T, 0, gemmScratch);
    return;
  }
  zero_f32(dx, batch * inH * inW * inC);
  for (int p0 = 0; p0 < P; p0 += blockRows) {
    int p1 = min_i(P, p0 + blockRows);
    gemm(p1 - p0, T, outC, dy + p0 * outC, outC, 1, w, 1, outC, cols, T, 0, gemmScratch);
    scatter_patches(cols, GEOMETRY_ARGS, p0, p1, dx);
  }
}
