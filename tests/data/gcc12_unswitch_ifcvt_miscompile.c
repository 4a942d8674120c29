/* GCC 12.2 (x86-64, AVX-512VL, e.g. -march=native on Rocket Lake) miscompiles this at
 * -O3 with `#pragma omp simd` honoured (-fopenmp or -fopenmp-simd); found in lamina's
 * gradient of lm.unbind / lm.chunk (issue 13), whose C kernel has this shape: every
 * row adds up row-dependent selects of one loop-invariant value.
 *
 * What goes wrong (gcc -fdump-tree-unswitch-details -fdump-tree-ifcvt-details):
 * loop unswitching versions the inner loop on the row conditions; in a version where
 * both arms of a remaining condition compute `x + 0.0`, if-conversion finds the PHI
 * of the two arms "degenerate" (scalar evolution says both are the invariant x + 0.0)
 * and keeps its first argument only; that add, which may trap (-ftrapping-math, the
 * default), is then predicated on its own arm's condition as a masked
 * `.COND_ADD (mask, x, 0.0, else 0.0)`, so rows where that arm is not taken get 0.0.
 * Here rows 0 and 2 come out 0 in columns 0-3 (column 4 is the scalar epilogue).
 *
 * Right with any one of: -fno-unswitch-loops (lamina's default: no versions with
 * equal arms), -fno-trapping-math (no predicated adds), -fno-tree-loop-if-convert,
 * -fno-tree-loop-vectorize, -O2, or without AVX-512VL (no masked adds).
 * Exit status 0 when right, 1 when miscompiled. */
#include <stdint.h>
#include <stdio.h>

__attribute__((noinline)) void kernel(const float *restrict a, float *restrict o) {
  for (int64_t i = 0; i < 5; ++i) {
#pragma omp simd
    for (int64_t j = 0; j < 5; ++j) {
      const float x = a[0];
      o[i * 5 + j] = (i == 4 ? x : 0.0f) + (i == 3 ? x : 0.0f) + (i == 2 ? x : 0.0f) +
                     (i == 1 ? x : 0.0f) + (i == 0 ? x : 0.0f);
    }
  }
}

int main(void) {
  volatile float one = 1.0f;
  float a[1] = {one}, o[25];
  kernel(a, o);
  int bad = 0;
  for (int k = 0; k < 25; ++k) {
    if (o[k] != 1.0f) {
      printf("o[%d][%d] = %g, want 1\n", k / 5, k % 5, o[k]);
      ++bad;
    }
  }
  return bad != 0;
}
