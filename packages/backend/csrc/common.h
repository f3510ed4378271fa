/*
 * Shared by every kernel of training-kernels.wasm.
 *
 * The module imports the memory of tfjs-backend-wasm and works on its tensors in place:
 * every pointer argument is an address on that heap. So the module must own no memory
 * of its own: no static or global variables, no string constants, no local arrays (any
 * of them would be laid out by the linker over tfjs's own data, or need a stack).
 * scripts/build-wasm.sh checks the output for data segments and stack use.
 */
#ifndef TRAINING_KERNELS_COMMON_H
#define TRAINING_KERNELS_COMMON_H

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name))) name

static inline int min_i(int a, int b) { return a < b ? a : b; }
static inline int max_i(int a, int b) { return a > b ? a : b; }

/* x / y rounded up, for non-negative x and positive y. */
static inline int ceil_div(int x, int y) { return (x + y - 1) / y; }

static inline void zero_f32(float* p, int n) {
  int i = 0;
  v128_t z = wasm_f32x4_splat(0.0f);
  for (; i + 4 <= n; i += 4) wasm_v128_store(p + i, z);
  for (; i < n; i++) p[i] = 0.0f;
}

/* dst[0..n) += src[0..n) */
static inline void add_into_f32(float* dst, const float* src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    wasm_v128_store(dst + i, wasm_f32x4_add(wasm_v128_load(dst + i), wasm_v128_load(src + i)));
  }
  for (; i < n; i++) dst[i] += src[i];
}

static inline void copy_f32(float* dst, const float* src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
  for (; i < n; i++) dst[i] = src[i];
}

/* gemm.c: C[M,N] (+)= A[M,K] * B[K,N] with element strides; see there. */
void gemm(int M, int N, int K, const float* a, int rsa, int csa, const float* b, int rsb, int csb, float* c, int ldc,
          int accumulate, float* scratch);

#endif
