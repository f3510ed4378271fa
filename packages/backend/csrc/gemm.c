/*
 * C[M,N] (+)= A[M,K] · B[K,N] for float32, with any element strides for A and B so that
 * transposed operands cost nothing extra: A(i,k) = a[i*rsa + k*csa], B(k,j) = b[k*rsb + j*csb].
 *
 * Blocked like BLIS/GotoBLAS: panels of B (KC x NC) and A (MC x KC) are packed into the
 * caller's scratch so the 4x8 micro-kernel streams both from contiguous memory; wasm
 * SIMD has no FMA, so the kernel keeps 8 accumulators and separate mul/add. (6x8, 12
 * accumulators, measured 20-40% slower: V8 has 16 vector registers on x86-64.)
 */
#include "common.h"

#define MR 4
#define NR 8
#define KC 256
#define MC 128
#define NC 512

/* Bytes of scratch `gemm` needs: packed A, packed B and one MR x NR edge tile. */
int EXPORT(gemm_scratch_bytes)(void) { return (MC * KC + KC * NC + MR * NR) * 4; }

/* Four rows of four floats, r0..r3, transposed in place: column j of the block becomes row j. */
#define TRANSPOSE4(r0, r1, r2, r3)                          \
  do {                                                      \
    v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5);     \
    v128_t t1 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);     \
    v128_t t2 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);     \
    v128_t t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);     \
    r0 = wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5);            \
    r1 = wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7);            \
    r2 = wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5);            \
    r3 = wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7);            \
  } while (0)

/*
 * Packs A into panels of MR rows, k-major. Row-major A (a patch matrix, dy) is read four
 * rows by four columns and transposed in registers: element by element, packing cost as
 * much as the multiply on the narrow gemms of convolutions (N = 16 or 32 filters).
 */
static void pack_a(int mc, int kc, const float* a, int rsa, int csa, float* pa) {
  for (int i0 = 0; i0 < mc; i0 += MR) {
    int mr = min_i(MR, mc - i0);
    const float* col = a + i0 * rsa;
    if (mr == MR && rsa == 1) {
      for (int k = 0; k < kc; k++, pa += MR) wasm_v128_store(pa, wasm_v128_load(col + k * csa));
      continue;
    }
    int k = 0;
    if (mr == MR && csa == 1) {
      for (; k + 4 <= kc; k += 4, pa += 4 * MR) {
        v128_t r0 = wasm_v128_load(col + k), r1 = wasm_v128_load(col + rsa + k);
        v128_t r2 = wasm_v128_load(col + 2 * rsa + k), r3 = wasm_v128_load(col + 3 * rsa + k);
        TRANSPOSE4(r0, r1, r2, r3);
        wasm_v128_store(pa, r0);
        wasm_v128_store(pa + 4, r1);
        wasm_v128_store(pa + 8, r2);
        wasm_v128_store(pa + 12, r3);
      }
    }
    for (; k < kc; k++, pa += MR) {
      const float* src = col + k * csa;
      int i = 0;
      for (; i < mr; i++) pa[i] = src[i * rsa];
      for (; i < MR; i++) pa[i] = 0.0f;
    }
  }
}

/* Packs B into panels of NR columns, k-major; a transposed B (a filter read as Wᵀ) in 4x4 blocks. */
static void pack_b(int kc, int nc, const float* b, int rsb, int csb, float* pb) {
  for (int j0 = 0; j0 < nc; j0 += NR) {
    int nr = min_i(NR, nc - j0);
    const float* row = b + j0 * csb;
    if (nr == NR && csb == 1) {
      for (int k = 0; k < kc; k++, pb += NR) {
        const float* src = row + k * rsb;
        wasm_v128_store(pb, wasm_v128_load(src));
        wasm_v128_store(pb + 4, wasm_v128_load(src + 4));
      }
      continue;
    }
    int k = 0;
    if (nr == NR && rsb == 1) {
      for (; k + 4 <= kc; k += 4, pb += 4 * NR) {
        v128_t r0 = wasm_v128_load(row + k), r1 = wasm_v128_load(row + csb + k);
        v128_t r2 = wasm_v128_load(row + 2 * csb + k), r3 = wasm_v128_load(row + 3 * csb + k);
        v128_t r4 = wasm_v128_load(row + 4 * csb + k), r5 = wasm_v128_load(row + 5 * csb + k);
        v128_t r6 = wasm_v128_load(row + 6 * csb + k), r7 = wasm_v128_load(row + 7 * csb + k);
        TRANSPOSE4(r0, r1, r2, r3);
        TRANSPOSE4(r4, r5, r6, r7);
        wasm_v128_store(pb, r0);
        wasm_v128_store(pb + 4, r4);
        wasm_v128_store(pb + 8, r1);
        wasm_v128_store(pb + 12, r5);
        wasm_v128_store(pb + 16, r2);
        wasm_v128_store(pb + 20, r6);
        wasm_v128_store(pb + 24, r3);
        wasm_v128_store(pb + 28, r7);
      }
    }
    for (; k < kc; k++, pb += NR) {
      const float* src = row + k * rsb;
      int j = 0;
      for (; j < nr; j++) pb[j] = src[j * csb];
      for (; j < NR; j++) pb[j] = 0.0f;
    }
  }
}

#define ACC(c, a, b) c = wasm_f32x4_add(c, wasm_f32x4_mul(a, b))

/* One MR x NR block of C from packed panels; partial blocks go through `tile`. */
static void micro_kernel(int kc, const float* pa, const float* pb, float* c, int ldc, int mr, int nr, int accumulate,
                         float* tile) {
  v128_t c00 = wasm_f32x4_splat(0.0f), c01 = c00, c10 = c00, c11 = c00;
  v128_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int k = 0; k < kc; k++, pa += MR, pb += NR) {
    v128_t b0 = wasm_v128_load(pb), b1 = wasm_v128_load(pb + 4);
    // load32_splat is one broadcast load; a vector load and four shuffles measured 5-10% slower.
    v128_t a0 = wasm_v128_load32_splat(pa);
    ACC(c00, a0, b0);
    ACC(c01, a0, b1);
    v128_t a1 = wasm_v128_load32_splat(pa + 1);
    ACC(c10, a1, b0);
    ACC(c11, a1, b1);
    v128_t a2 = wasm_v128_load32_splat(pa + 2);
    ACC(c20, a2, b0);
    ACC(c21, a2, b1);
    v128_t a3 = wasm_v128_load32_splat(pa + 3);
    ACC(c30, a3, b0);
    ACC(c31, a3, b1);
  }
  float* out = c;
  int ld = ldc;
  if (mr != MR || nr != NR) {
    out = tile;
    ld = NR;
  } else if (accumulate) {
    c00 = wasm_f32x4_add(c00, wasm_v128_load(c));
    c01 = wasm_f32x4_add(c01, wasm_v128_load(c + 4));
    c10 = wasm_f32x4_add(c10, wasm_v128_load(c + ldc));
    c11 = wasm_f32x4_add(c11, wasm_v128_load(c + ldc + 4));
    c20 = wasm_f32x4_add(c20, wasm_v128_load(c + 2 * ldc));
    c21 = wasm_f32x4_add(c21, wasm_v128_load(c + 2 * ldc + 4));
    c30 = wasm_f32x4_add(c30, wasm_v128_load(c + 3 * ldc));
    c31 = wasm_f32x4_add(c31, wasm_v128_load(c + 3 * ldc + 4));
  }
  wasm_v128_store(out, c00);
  wasm_v128_store(out + 4, c01);
  wasm_v128_store(out + ld, c10);
  wasm_v128_store(out + ld + 4, c11);
  wasm_v128_store(out + 2 * ld, c20);
  wasm_v128_store(out + 2 * ld + 4, c21);
  wasm_v128_store(out + 3 * ld, c30);
  wasm_v128_store(out + 3 * ld + 4, c31);
  if (out == tile) {
    for (int i = 0; i < mr; i++) {
      for (int j = 0; j < nr; j++) {
        float v = tile[i * NR + j];
        c[i * ldc + j] = accumulate ? c[i * ldc + j] + v : v;
      }
    }
  }
}

void EXPORT(gemm)(int M, int N, int K, const float* a, int rsa, int csa, const float* b, int rsb, int csb, float* c,
                  int ldc, int accumulate, float* scratch) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) {
      for (int i = 0; i < M; i++) zero_f32(c + i * ldc, N);
    }
    return;
  }
  float* pa = scratch;
  float* pb = scratch + MC * KC;
  float* tile = pb + KC * NC;
  for (int j0 = 0; j0 < N; j0 += NC) {
    int nc = min_i(NC, N - j0);
    for (int k0 = 0; k0 < K; k0 += KC) {
      int kc = min_i(KC, K - k0);
      int acc = accumulate || k0 > 0;
      pack_b(kc, nc, b + k0 * rsb + j0 * csb, rsb, csb, pb);
      for (int i0 = 0; i0 < M; i0 += MC) {
        int mc = min_i(MC, M - i0);
        pack_a(mc, kc, a + i0 * rsa + k0 * csa, rsa, csa, pa);
        for (int jr = 0; jr < nc; jr += NR) {
          for (int ir = 0; ir < mc; ir += MR) {
            micro_kernel(kc, pa + ir * kc, pb + jr * kc, c + (i0 + ir) * ldc + j0 + jr, ldc, min_i(MR, mc - ir),
                         min_i(NR, nc - jr), acc, tile);
          }
        }
      }
    }
  }
}
