/* lamina C prelude: helpers every generated program may call.
 *
 * Registers: f16/bf16 values live in `float` (always exactly representable in
 * their type), booleans in uint8_t (0/1), signless integers in uintN_t (wrapping
 * arithmetic is defined), `index` in int64_t. Storage: f16/bf16 as uint16_t bits,
 * booleans as uint8_t bytes. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int64_t lm_index;

/* Vector math from glibc's libmvec (x86-64, glibc >= 2.35; the runtime defines
 * LM_LIBMVEC and links -lmvec when present): declaring the float functions
 * `omp declare simd` lets `#pragma omp simd` loops call their vector versions
 * (within 4 ulp, special values handled) instead of one scalar call per element. */
#if defined(LM_LIBMVEC) && defined(_OPENMP)
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float logf(float);
#pragma omp declare simd notinbranch
float sinf(float);
#pragma omp declare simd notinbranch
float cosf(float);
#pragma omp declare simd notinbranch
float tanhf(float);
#pragma omp declare simd notinbranch
float erff(float);
#pragma omp declare simd notinbranch
float expm1f(float);
#pragma omp declare simd notinbranch
float log1pf(float);
#pragma omp declare simd notinbranch
float exp2f(float);
#pragma omp declare simd notinbranch
float log2f(float);
#endif

/* ---- half precision: stored as uint16_t bits, computed in float ---- */

static inline float lm_bits_to_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t lm_f32_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline float lm_bf16_to_f32(uint16_t h) { return lm_bits_to_f32((uint32_t)h << 16); }
static inline uint16_t lm_f32_to_bf16(float f) {  /* round to nearest even, NaN kept quiet */
  uint32_t u = lm_f32_to_bits(f);
  if (f != f) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

#if defined(__FLT16_MAX__)
static inline float lm_f16_to_f32(uint16_t h) { _Float16 x; memcpy(&x, &h, 2); return (float)x; }
static inline uint16_t lm_f32_to_f16(float f) { _Float16 x = (_Float16)f; uint16_t h; memcpy(&h, &x, 2); return h; }
static inline uint16_t lm_f64_to_f16(double d) { _Float16 x = (_Float16)d; uint16_t h; memcpy(&h, &x, 2); return h; }
#else
static inline float lm_f16_to_f32(uint16_t h) {
  uint32_t s = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1F, m = h & 0x3FF;
  if (e == 0x1F) return lm_bits_to_f32(s | 0x7F800000u | (m << 13));
  if (e == 0) { float v = ldexpf((float)m, -24); return s ? -v : v; }
  return lm_bits_to_f32(s | ((e + 112) << 23) | (m << 13));
}
static inline uint16_t lm_f32_to_f16(float f) {  /* round to nearest even */
  uint32_t u = lm_f32_to_bits(f), s = (u >> 16) & 0x8000;
  float a = fabsf(f);
  if (f != f) return (uint16_t)(s | 0x7E00);
  if (a >= 65520.0f) return (uint16_t)(s | 0x7C00);
  if (a < 6.103515625e-05f) { /* subnormal: scale so that the units are 2^-24 */
    float q = nearbyintf(a * 16777216.0f);
    return (uint16_t)(s | (uint32_t)q);
  }
  uint32_t au = u & 0x7FFFFFFFu;
  au += 0xFFFu + ((au >> 13) & 1u);
  return (uint16_t)(s | ((au >> 13) - (112u << 10)));
}
static inline uint16_t lm_f64_to_f16(double d) { return lm_f32_to_f16((float)d); }
#endif

static inline float lm_round_f16(float f) { return lm_f16_to_f32(lm_f32_to_f16(f)); }
static inline float lm_round_bf16(float f) { return lm_bf16_to_f32(lm_f32_to_bf16(f)); }

/* ---- NaN-propagating max/min (torch.maximum/minimum) ---- */

static inline float lm_maxf(float a, float b) { return (a > b || a != a) ? a : b; }
static inline float lm_minf(float a, float b) { return (a < b || a != a) ? a : b; }
static inline double lm_max(double a, double b) { return (a > b || a != a) ? a : b; }
static inline double lm_min(double a, double b) { return (a < b || a != a) ? a : b; }

/* ---- integer division as arith defines it; a zero divisor gives 0 (as numpy)
 * instead of trapping, and MIN / -1 wraps ---- */

#define LM_INT_OPS(W)                                                              \
  static inline uint##W##_t lm_divsi##W(uint##W##_t a, uint##W##_t b) {            \
    int##W##_t x = (int##W##_t)a, y = (int##W##_t)b;                               \
    if (y == 0) return 0;                                                          \
    if (y == -1) return (uint##W##_t)(0 - a);                                      \
    return (uint##W##_t)(x / y);                                                   \
  }                                                                                \
  static inline uint##W##_t lm_remsi##W(uint##W##_t a, uint##W##_t b) {            \
    int##W##_t x = (int##W##_t)a, y = (int##W##_t)b;                               \
    if (y == 0 || y == -1) return 0;                                               \
    return (uint##W##_t)(x % y);                                                   \
  }                                                                                \
  static inline uint##W##_t lm_floordivsi##W(uint##W##_t a, uint##W##_t b) {       \
    int##W##_t x = (int##W##_t)a, y = (int##W##_t)b;                               \
    if (y == 0) return 0;                                                          \
    if (y == -1) return (uint##W##_t)(0 - a);                                      \
    int##W##_t q = x / y;                                                          \
    if (x % y != 0 && ((x < 0) != (y < 0))) q -= 1;                                \
    return (uint##W##_t)q;                                                         \
  }                                                                                \
  static inline uint##W##_t lm_ceildivsi##W(uint##W##_t a, uint##W##_t b) {        \
    int##W##_t x = (int##W##_t)a, y = (int##W##_t)b;                               \
    if (y == 0) return 0;                                                          \
    if (y == -1) return (uint##W##_t)(0 - a);                                      \
    int##W##_t q = x / y;                                                          \
    if (x % y != 0 && ((x < 0) == (y < 0))) q += 1;                                \
    return (uint##W##_t)q;                                                         \
  }                                                                                \
  static inline uint##W##_t lm_divui##W(uint##W##_t a, uint##W##_t b) {            \
    return b == 0 ? 0 : (uint##W##_t)(a / b);                                      \
  }                                                                                \
  static inline uint##W##_t lm_ceildivui##W(uint##W##_t a, uint##W##_t b) {        \
    return b == 0 ? 0 : (uint##W##_t)(a / b + (a % b != 0));                       \
  }                                                                                \
  static inline uint##W##_t lm_remui##W(uint##W##_t a, uint##W##_t b) {            \
    return b == 0 ? 0 : (uint##W##_t)(a % b);                                      \
  }
LM_INT_OPS(8)
LM_INT_OPS(16)
LM_INT_OPS(32)
LM_INT_OPS(64)

/* ---- buffers ---- */

static inline void *lm_alloc(int64_t bytes) {
  size_t n = (size_t)((bytes + 63) / 64 * 64);
  return aligned_alloc(64, n ? n : 64);
}

/* ---- GEMM: C[b] (+)= op(A[b]) @ op(B[b]). op(B) is packed per batch into rows
 * padded to whole LM_NR panels (64-byte aligned, zero-filled), so every tile of C
 * is one LM_MR x LM_NR register tile computed by a fixed-size aligned simd loop;
 * column panels are outermost so that a panel of B stays in cache across row tiles.
 * Missing rows of an edge tile multiply zeros; only the real part is stored.
 * Where the matrices lie is an lm_gemm_layout (lamina/dialects/gemm_layout.py): rows
 * lda/ldb/ldc apart, batch index bt at its multi-index over dims[0..nb) times the
 * per-dim strides (0: shared), after the pointer offsets the caller applied. ---- */

#define LM_GEMM_MAX_BATCH 4
typedef struct {
  int nb;
  int64_t dims[LM_GEMM_MAX_BATCH];
  int64_t lda, ldb, ldc;
  int64_t sa[LM_GEMM_MAX_BATCH], sb[LM_GEMM_MAX_BATCH], sc[LM_GEMM_MAX_BATCH];
} lm_gemm_layout;

static inline int64_t lm_batch_offset(const lm_gemm_layout *g, const int64_t *s, int64_t bt) {
  int64_t off = 0;
  for (int d = g->nb - 1; d >= 0; --d) {
    off += bt % g->dims[d] * s[d];
    bt /= g->dims[d];
  }
  return off;
}

static inline int lm_shared(const lm_gemm_layout *g, const int64_t *s) {
  for (int d = 0; d < g->nb; ++d)
    if (s[d]) return 0;
  return 1;
}

#define LM_MR 4
#define LM_NR 32
#if defined(__GNUC__) && !defined(__clang__)
/* gcc -O3 unroll-and-jam of the `p` loop turns the register tile scalar (5x slower) */
#define LM_GEMM_ATTR __attribute__((optimize("no-loop-unroll-and-jam")))
#else
#define LM_GEMM_ATTR
#endif
#define LM_DEFINE_GEMM(NAME, T, ACC, LOAD, STORE)                                    \
  LM_GEMM_ATTR static void NAME(const T *A, const T *B, T *C, int64_t batch, int64_t m,           \
                   int64_t n, int64_t k, const lm_gemm_layout *g, int ta, int tb,     \
                   int accumulate) {                                                  \
    int64_t mt = (m + LM_MR - 1) / LM_MR, nt = (n + LM_NR - 1) / LM_NR;               \
    int64_t ldb = nt * LM_NR, ldc = g->ldc;                                           \
    ACC *bp = (ACC *)lm_alloc((k * ldb > 0 ? k * ldb : 1) * (int64_t)sizeof(ACC));    \
    int64_t sp = ta ? g->lda : 1, sr = ta ? 1 : g->lda; /* A(i, p) = a[i*sr + p*sp] */ \
    int64_t bj = tb ? g->ldb : 1, bq = tb ? 1 : g->ldb; /* B(p, j) = b[p*bq + j*bj] */ \
    int shared_b = lm_shared(g, g->sb);                                               \
    for (int64_t bt = 0; bt < batch; ++bt) {                                          \
      const T *a = A + lm_batch_offset(g, g->sa, bt);                                 \
      const T *b = B + lm_batch_offset(g, g->sb, bt);                                 \
      T *c = C + lm_batch_offset(g, g->sc, bt);                                       \
      for (int64_t p = 0; p < k && (bt == 0 || !shared_b); ++p) { /* shared B: once */ \
        for (int64_t j = 0; j < n; ++j)                                               \
          bp[p * ldb + j] = (ACC)LOAD(b[p * bq + j * bj]);                            \
        for (int64_t j = n; j < ldb; ++j) bp[p * ldb + j] = 0;                        \
      }                                                                               \
      _Pragma("omp parallel for collapse(2) schedule(static) if (m * n * k > 65536)") \
      for (int64_t jt = 0; jt < nt; ++jt) {                                           \
        for (int64_t it = 0; it < mt; ++it) {                                         \
          int64_t i0 = it * LM_MR, j0 = jt * LM_NR;                                   \
          int64_t rows = m - i0 < LM_MR ? m - i0 : LM_MR;                             \
          int64_t cols = n - j0 < LM_NR ? n - j0 : LM_NR;                             \
          const T *ai = a + i0 * sr;                                                  \
          ACC acc[LM_MR][LM_NR] __attribute__((aligned(64)));                         \
          memset(acc, 0, sizeof(acc));                                                \
          for (int64_t p = 0; p < k; ++p) {                                           \
            const ACC *brow = bp + p * ldb + j0;                                      \
            const T *ap = ai + p * sp;                                                \
            ACC a0 = (ACC)LOAD(ap[0]);                                                \
            ACC a1 = rows > 1 ? (ACC)LOAD(ap[sr]) : (ACC)0;                           \
            ACC a2 = rows > 2 ? (ACC)LOAD(ap[2 * sr]) : (ACC)0;                       \
            ACC a3 = rows > 3 ? (ACC)LOAD(ap[3 * sr]) : (ACC)0;                       \
            _Pragma("omp simd aligned(brow : 64)")                                    \
            for (int64_t j = 0; j < LM_NR; ++j) {                                     \
              acc[0][j] += a0 * brow[j];                                              \
              acc[1][j] += a1 * brow[j];                                              \
              acc[2][j] += a2 * brow[j];                                              \
              acc[3][j] += a3 * brow[j];                                              \
            }                                                                         \
          }                                                                           \
          for (int64_t r = 0; r < rows; ++r)                                          \
            for (int64_t j = 0; j < cols; ++j) {                                      \
              T *dst = &c[(i0 + r) * ldc + j0 + j];                                   \
              ACC v = acc[r][j];                                                      \
              if (accumulate) v += (ACC)LOAD(*dst);                                   \
              *dst = STORE(v);                                                        \
            }                                                                         \
        }                                                                             \
      }                                                                               \
    }                                                                                 \
    free(bp);                                                                         \
  }
#define LM_ID(x) (x)

/* ---- arith.bitcast between floats and integers of one width ---- */
static inline uint32_t lm_bitcast_uint32(float f) { return lm_f32_to_bits(f); }
static inline float lm_bitcast_float(uint32_t u) { return lm_bits_to_f32(u); }
static inline uint64_t lm_bitcast_uint64(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static inline double lm_bitcast_double(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

/* ---- check.index: record a fault (site k: flag at 2k, the bad index at 2k + 1) ----
 * Relaxed atomics: threads of one kernel may record at once; any one index they
 * store is a true fault, and the runtime reads the buffer after the call. */
static inline void lm_fault_at(int64_t *fault, int64_t site, int64_t index) {
  __atomic_store_n(&fault[2 * site + 1], index, __ATOMIC_RELAXED);
  __atomic_store_n(&fault[2 * site], 1, __ATOMIC_RELAXED);
}

static inline int lm_faulted(const int64_t *fault, int64_t sites) {
  for (int64_t s = 0; s < sites; s++)
    if (fault[2 * s]) return 1;
  return 0;
}
