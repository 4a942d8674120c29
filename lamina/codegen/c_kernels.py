"""C text for the performance-critical library routines every C program may call.

Two pieces, appended to the prelude by `lamina.codegen.c`:

* **BLAS dispatch for float32/float64 GEMM.** Measured on the 2-core Zen 4 VM
  (bench/README.md): numpy's bundled OpenBLAS (Haswell kernels, its own threads)
  reaches ~2x the GFLOP/s of the generated 4x32 register-tile microkernel at 1024^3
  and more at 2048^3, so `cpu.gemm` on f32/f64 calls `cblas_?gemm` through a
  function pointer that the runtime stores into the loaded library
  (`lamina.runtime.blas.bind`). Without one (no BLAS found, a library loaded by
  another tool, tiny products where the call costs more than it saves) the
  portable microkernel from the prelude (`LM_DEFINE_GEMM`) runs. The library is
  never linked: programs stay loadable anywhere. Big products run on lamina's
  OpenMP team, each thread calling BLAS single-threaded on its share of the
  batches (or rows): OpenBLAS's own workers spin-wait after a call and steal the
  cores from the kernels that follow (attention block 3-4x slower measured).

* **Buffer reuse for intermediates.** `lm_alloc` in the prelude is `aligned_alloc`;
  glibc serves big requests with a fresh `mmap`, so every call of a program would
  page-fault its intermediates in again (~0.4 ms per MiB here). `lm_pool_alloc` /
  `lm_pool_free` keep a few freed blocks per program in lock-free slots (a block is
  taken with a compare-and-swap, so concurrent calls of one program never share
  one); a block remembers its size in a 64-byte header.
"""

from __future__ import annotations

# symbol names the runtime writes (see lamina.runtime.blas)
BLAS_SYMBOLS = {"float": "lamina_blas_sgemm", "double": "lamina_blas_dgemm"}
ILP64_SYMBOL = "lamina_blas_ilp64"
THREADS_SYMBOL = "lamina_blas_threads_local"

# below this many multiply-adds per product a BLAS call (argument checks, thread
# decisions) costs more than the register-tile kernel takes
BLAS_MIN_MACS = 32 * 32 * 32
# from this many multiply-adds per call, the OpenMP team splits the batches (or the
# rows) and each thread calls a single-threaded BLAS
BLAS_PARALLEL_MACS = 1 << 18

SOURCE = r"""
/* ---- lamina c_kernels: BLAS dispatch and intermediate-buffer reuse ---- */

/* set by the runtime after loading (lamina/runtime/blas.py); NULL = no BLAS.
   Defined by the main unit only when a program is compiled in parts (kernel units
   are compiled with LM_KERNEL_UNIT, lamina/runtime/cache.py). */
#ifndef LM_KERNEL_UNIT
void *lamina_blas_sgemm = 0;
void *lamina_blas_dgemm = 0;
void *lamina_blas_threads_local = 0; /* int openblas_set_num_threads_local(int) */
int lamina_blas_ilp64 = 1; /* 1: 64-bit integer arguments (OpenBLAS USE64BITINT) */
#endif

#ifdef _OPENMP
#include <omp.h>
#define LM_NUM_THREADS() omp_get_num_threads()
#define LM_THREAD_ID() omp_get_thread_num()
#define LM_MAX_THREADS() omp_get_max_threads()
#else
#define LM_NUM_THREADS() 1
#define LM_THREAD_ID() 0
#define LM_MAX_THREADS() 1
#endif
typedef int (*lm_blas_threads_fn)(int);

#define LM_CBLAS_ROW_MAJOR 101
#define LM_CBLAS_NO_TRANS 111
#define LM_CBLAS_TRANS 112

#define LM_DEFINE_BLAS_GEMM(NAME, T, FALLBACK, HOOK)                                  \
  typedef void (*NAME##_f64i)(int, int, int, int64_t, int64_t, int64_t, T, const T *, \
                              int64_t, const T *, int64_t, T, T *, int64_t);          \
  typedef void (*NAME##_f32i)(int, int, int, int32_t, int32_t, int32_t, T, const T *, \
                              int32_t, const T *, int32_t, T, T *, int32_t);          \
  static void NAME##_call(void *hook, int opa, int opb, int64_t m, int64_t n,          \
                          int64_t k, const T *a, int64_t lda, const T *b, int64_t ldb, \
                          T beta, T *c, int64_t ldc) {                                \
    if (lamina_blas_ilp64)                                                            \
      ((NAME##_f64i)hook)(LM_CBLAS_ROW_MAJOR, opa, opb, m, n, k, (T)1, a, lda, b, ldb,  \
                          beta, c, ldc);                                              \
    else                                                                              \
      ((NAME##_f32i)hook)(LM_CBLAS_ROW_MAJOR, opa, opb, (int32_t)m, (int32_t)n,        \
                          (int32_t)k, (T)1, a, (int32_t)lda, b, (int32_t)ldb, beta, c, \
                          (int32_t)ldc);                                              \
  }                                                                                   \
  static void NAME(const T *A, const T *B, T *C, int64_t batch, int64_t m, int64_t n, \
                   int64_t k, const lm_gemm_layout *g, int ta, int tb, int accumulate) { \
    void *hook = HOOK;                                                                \
    int small = m * n * k < LM_BLAS_MIN_MACS || k == 0;                               \
    int64_t widest = m > n ? m : n;                                                   \
    widest = widest > k ? widest : k;                                                 \
    widest = widest > g->lda ? widest : g->lda;                                       \
    widest = widest > g->ldb ? widest : g->ldb;                                       \
    widest = widest > g->ldc ? widest : g->ldc;                                       \
    if (!hook || small || (!lamina_blas_ilp64 && widest > INT32_MAX)) {               \
      FALLBACK(A, B, C, batch, m, n, k, g, ta, tb, accumulate);                       \
      return;                                                                         \
    }                                                                                 \
    int opa = ta ? LM_CBLAS_TRANS : LM_CBLAS_NO_TRANS;                                \
    int opb = tb ? LM_CBLAS_TRANS : LM_CBLAS_NO_TRANS;                                \
    T beta = accumulate ? (T)1 : (T)0;                                                \
    lm_blas_threads_fn local = (lm_blas_threads_fn)lamina_blas_threads_local;         \
    int team = local && batch * m * n * k >= LM_BLAS_PARALLEL_MACS ? LM_MAX_THREADS() : 1; \
    if (!local) { /* BLAS threads itself: one call per batch */                       \
      for (int64_t bt = 0; bt < batch; ++bt)                                          \
        NAME##_call(hook, opa, opb, m, n, k, A + lm_batch_offset(g, g->sa, bt), g->lda, \
                    B + lm_batch_offset(g, g->sb, bt), g->ldb, beta,                  \
                    C + lm_batch_offset(g, g->sc, bt), g->ldc);                       \
      return;                                                                         \
    }                                                                                 \
    _Pragma("omp parallel num_threads(team)") {                                      \
      int nt = LM_NUM_THREADS(), id = LM_THREAD_ID();                                 \
      int old = local(1); /* this thread computes its share alone: no BLAS workers */ \
      if (batch >= nt) {                                                              \
        for (int64_t bt = batch * id / nt; bt < batch * (id + 1) / nt; ++bt)          \
          NAME##_call(hook, opa, opb, m, n, k, A + lm_batch_offset(g, g->sa, bt),     \
                      g->lda, B + lm_batch_offset(g, g->sb, bt), g->ldb, beta,        \
                      C + lm_batch_offset(g, g->sc, bt), g->ldc);                     \
      } else {                                                                        \
        int64_t r0 = m * id / nt, r1 = m * (id + 1) / nt;                             \
        for (int64_t bt = 0; bt < batch && r1 > r0; ++bt)                             \
          NAME##_call(hook, opa, opb, r1 - r0, n, k,                                  \
                      A + lm_batch_offset(g, g->sa, bt) + (ta ? r0 : r0 * g->lda),    \
                      g->lda, B + lm_batch_offset(g, g->sb, bt), g->ldb, beta,        \
                      C + lm_batch_offset(g, g->sc, bt) + r0 * g->ldc, g->ldc);       \
      }                                                                               \
      local(old);                                                                     \
    }                                                                                 \
  }

/* expf in straight-line code that `omp simd` loops vectorize (no calls, no branches):
 * Cody-Waite reduction by ln 2 (|r| <= ln2/2), a degree-6 polynomial (q fitted to
 * (exp(r) - 1 - r) / r^2 by iteratively reweighted least squares on Chebyshev nodes:
 * 8.9e-9 relative; cephes' degree 7 needed one more fma for no accuracy: max 0.995 vs
 * 1.010 ulp over every float in [-110, 92], 0.311 vs 0.329 ns per element), the
 * scale 2^k applied as two normal powers of two so that denormal results round once.
 * Replaces libmvec's expf, whose vector version falls back to one scalar call per
 * lane for any vector holding an input outside ~[-87, 88] (masked softmax rows are
 * half -inf: measured 4-6x slower attention softmax).
 * No clamp of x: gcc turns `x < lo ? lo : x` followed by arithmetic into ~10 masked
 * moves (no -ffinite-math-only, so no vminps); instead out-of-range inputs compute
 * garbage (k beyond int32 converts to INT_MIN on x86, and +-inf gives NaN) that the
 * two final selects replace by inf / 0, and NaN propagates through the arithmetic.
 * With the clamps it was 0.59 ns per element (one Zen 4 core, a 16-lane loop summing
 * exp); the selects give the same results on every float in [-110, 92] and +-inf/NaN. */
static inline float lm_expf(float x) {
  float k = __builtin_rintf(x * 1.44269504088896341f);
  float r = __builtin_fmaf(k, -0.693359375f, x);
  r = __builtin_fmaf(k, 2.12194440e-4f, r);
  float p = 0x1.639abep-10f; /* exp(r) = 1 + r + r^2 q(r), q of degree 4 */
  p = __builtin_fmaf(p, r, 0x1.12686ep-7f);
  p = __builtin_fmaf(p, r, 0x1.5564b2p-5f);
  p = __builtin_fmaf(p, r, 0x1.555446p-3f);
  p = __builtin_fmaf(p, r, 0x1.ffffe8p-2f);
  p = __builtin_fmaf(p, r * r, r) + 1.0f;
  int32_t ki = (int32_t)k, k1 = ki >> 1, k2 = ki - k1; /* in range: k in [-150, 128] */
  uint32_t b1 = (uint32_t)(k1 + 127) << 23, b2 = (uint32_t)(k2 + 127) << 23;
  float s1, s2;
  memcpy(&s1, &b1, 4);
  memcpy(&s2, &b2, 4);
  float y = p * s1 * s2;
  y = x > 88.72283935546875f ? __builtin_inff() : y;
  return x < -103.972084045410f ? 0.0f : y;
}
#define expf(x) lm_expf(x)

/* intermediates: a few freed blocks kept per program, taken back by size */
#define LM_POOL_SLOTS 16
#define LM_POOL_HEADER 64
static void *lm_pool_slots[LM_POOL_SLOTS];

static inline void *lm_pool_alloc(int64_t bytes) {
  for (int s = 0; s < LM_POOL_SLOTS; ++s) {
    char *p = (char *)__atomic_load_n(&lm_pool_slots[s], __ATOMIC_ACQUIRE);
    if (p && *(int64_t *)(p - LM_POOL_HEADER) == bytes &&
        __atomic_compare_exchange_n(&lm_pool_slots[s], (void **)&p, (void *)0, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
      return p;
  }
  char *base = (char *)lm_alloc(bytes + LM_POOL_HEADER);
  if (!base) return 0;
  *(int64_t *)base = bytes;
  return base + LM_POOL_HEADER;
}

static inline void lm_pool_free(void *ptr) {
  if (!ptr) return;
  for (int s = 0; s < LM_POOL_SLOTS; ++s) {
    void *empty = 0;
    if (__atomic_compare_exchange_n(&lm_pool_slots[s], &empty, ptr, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED))
      return;
  }
  free((char *)ptr - LM_POOL_HEADER);
}
"""

SOURCE = SOURCE.replace("LM_BLAS_MIN_MACS", str(BLAS_MIN_MACS)).replace(
    "LM_BLAS_PARALLEL_MACS", str(BLAS_PARALLEL_MACS))


def define_gemm(name: str, storage: str, acc: str, load: str, store: str) -> str:
    """The C definition of one GEMM routine `name` (see `LM_DEFINE_GEMM` in the
    prelude for the contract): f32/f64 try BLAS first, the others are the tiles."""
    if storage in BLAS_SYMBOLS and acc == storage:
        tiles = f"{name}_tiles"
        return (f"LM_DEFINE_GEMM({tiles}, {storage}, {acc}, {load}, {store})\n"
                f"LM_DEFINE_BLAS_GEMM({name}, {storage}, {tiles}, {BLAS_SYMBOLS[storage]})")
    return f"LM_DEFINE_GEMM({name}, {storage}, {acc}, {load}, {store})"
