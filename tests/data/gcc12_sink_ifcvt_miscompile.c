/* GCC 12.2 (x86-64, AVX-512, e.g. -march=native on Rocket Lake or
 * -march=skylake-avx512) miscompiles this at -O3 and -O2, also with lamina's
 * -fno-unswitch-loops (and at -O1 with -fopenmp, where g[3] comes out 0 instead).
 * It is the C kernel lamina generated, before the cpu-hoist-invariants pass, for the
 * eager gradient of the Rosenbrock function
 *   (100 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2).sum()
 * at w = [-1.5, 2, 0.5, -0.5], cotangent ct = 1: torch says [-155, 2752, -551, -150];
 * compiled, elements 1 and 2 come out 2802 and 149 (the w[1:] term, which reaches
 * them through the pad with low=1, is lost).
 *
 * What goes wrong (gcc -fdump-tree-all): v21 = ct * 100 is loop-invariant but
 * computed in the loop. The selects `v12 ? ... : 0` and `v34 ? ... : 0` are branches
 * in GIMPLE; jump threading (dom2) and sinking (sink1) leave one copy of ct * 100 on
 * each side of the `i != 3` branch and a PHI of the two copies. If-conversion
 * predicates each copy on its own side's mask (a multiply may trap under the default
 * -ftrapping-math, and AVX-512 has masked multiplies: .COND_MUL (i != 3, ...) and
 * .COND_MUL (i == 3, ...), 0.0 elsewhere), then finds the PHI degenerate (scalar
 * evolution: both arms are the invariant ct * 100) and keeps one copy only, so the
 * v34 term of lanes 1 and 2 multiplies by 0.
 *
 * Right with any one of: ct * 100 computed before the loop (what lamina does now,
 * also at -O1 and -O2),
 * -fno-tree-sink, -fno-tree-vrp, -fno-tree-dominator-opts, -fno-trapping-math,
 * -fno-tree-loop-if-convert, -fno-tree-loop-vectorize, -O0, or without AVX-512.
 * Exit status 0 when right, 1 when miscompiled. */
#include <stdint.h>
#include <stdio.h>

__attribute__((noinline)) void kernel(const float *restrict a1, const float *restrict a2,
                                      float *restrict a3) {
#pragma omp simd
  for (int64_t i4 = 0; i4 < 4; ++i4) {
    const int64_t v5 = INT64_C(0);
    const int64_t v6 = INT64_C(2);
    const float v7 = (0x0.0p+0f);
    const float v8 = (0x1.0000000000000p+0f);
    const float v9 = (0x1.9000000000000p+6f);
    const int64_t v10 = INT64_C(1);
    const int64_t v11 = INT64_C(-1);
    const uint8_t v12 = (int64_t)i4 <= (int64_t)v6;
    const int64_t v13 = (int64_t)i4 < (int64_t)v6 ? i4 : v6;
    const float v14 = a1[v5];
    const float v15 = a2[v13];
    const float v16 = v8 - v15;
    const float v17 = v14 * v16;
    const float v18 = v17 + v17;
    const float v19 = -v18;
    const float v20 = v12 ? v19 : v7;
    const float v21 = v14 * v9;
    const int64_t v22 = v13 + v10;
    const float v23 = a2[v22];
    const float v24 = v15 * v15;
    const float v25 = v23 - v24;
    const float v26 = v21 * v25;
    const float v27 = v26 + v26;
    const float v28 = -v27;
    const float v29 = v28 * v15;
    const float v30 = v29 + v29;
    const float v31 = v12 ? v30 : v7;
    const float v32 = v20 + v31;
    const int64_t v33 = i4 + v11;
    const uint8_t v34 = (int64_t)v33 >= (int64_t)v5;
    const int64_t v35 = (int64_t)v33 > (int64_t)v5 ? v33 : v5;
    const int64_t v36 = v35 + v10;
    const float v37 = a2[v36];
    const float v38 = a2[v35];
    const float v39 = v38 * v38;
    const float v40 = v37 - v39;
    const float v41 = v21 * v40;
    const float v42 = v41 + v41;
    const float v43 = v34 ? v42 : v7;
    const float v44 = v32 + v43;
    a3[i4] = v44;
  }
}

int main(void) {
  volatile float one = 1.0f;
  const float ct[1] = {one}, w[4] = {-1.5f, 2.0f, 0.5f, -0.5f};
  const float want[4] = {-155.0f, 2752.0f, -551.0f, -150.0f};
  float g[4];
  kernel(ct, w, g);
  int bad = 0;
  for (int k = 0; k < 4; ++k) {
    if (g[k] != want[k]) {
      printf("g[%d] = %g, want %g\n", k, g[k], want[k]);
      ++bad;
    }
  }
  return bad != 0;
}
