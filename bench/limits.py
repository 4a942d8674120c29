"""The machine's measured limits: memory bandwidth (a compiled OpenMP triad and a
read-only sum) and sgemm peak (numpy's BLAS), measured in the same run as the
workloads so that fractions compare like with like."""

from __future__ import annotations

import ctypes
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass

import numpy as np

_TRIAD_C = r"""
#include <stddef.h>
void triad(float *restrict a, const float *restrict b, const float *restrict c, size_t n) {
  #pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) a[i] = b[i] + 3.0f * c[i];
}
float read_sum(const float *restrict b, size_t n) {
  float s = 0.0f;
  #pragma omp parallel for simd schedule(static) reduction(+:s)
  for (size_t i = 0; i < n; ++i) s += b[i];
  return s;
}
"""


@dataclass
class Machine:
    triad_gbs: float
    read_gbs: float
    sgemm_gflops: float
    cores: int

    def describe(self) -> str:
        return (f"{self.cores} cores; triad {self.triad_gbs:.1f} GB/s (read+write), "
                f"read-only {self.read_gbs:.1f} GB/s, sgemm {self.sgemm_gflops:.0f} GFLOP/s "
                "(numpy BLAS, 2048^3)")


def _best(fn, repeat: int = 9) -> float:
    """The median time: the workloads are compared by their medians too (the minimum
    of a bandwidth loop on this shared VM swung from 38 to 65 GB/s between runs)."""
    times = []
    fn()
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _triad_lib() -> ctypes.CDLL:
    workdir = tempfile.mkdtemp(prefix="lamina-bench-")
    src, lib = os.path.join(workdir, "triad.c"), os.path.join(workdir, "triad.so")
    with open(src, "w") as f:
        f.write(_TRIAD_C)
    subprocess.run(["cc", "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", src,
                    "-o", lib], check=True)
    dll = ctypes.CDLL(lib)
    dll.read_sum.restype = ctypes.c_float
    return dll


def measure(n: int = 32 * 1024 * 1024) -> Machine:
    dll = _triad_lib()
    a, b, c = (np.ones(n, np.float32) for _ in range(3))
    ptr = lambda x: x.ctypes.data_as(ctypes.c_void_p)
    triad = _best(lambda: dll.triad(ptr(a), ptr(b), ptr(c), ctypes.c_size_t(n)))
    read = _best(lambda: dll.read_sum(ptr(b), ctypes.c_size_t(n)))
    m = 2048
    x = np.random.default_rng(0).standard_normal((m, m), dtype=np.float32)
    x @ x
    gemm = _best(lambda: x @ x, repeat=5)
    return Machine(triad_gbs=12.0 * n / triad / 1e9, read_gbs=4.0 * n / read / 1e9,
                   sgemm_gflops=2.0 * m ** 3 / gemm / 1e9, cores=os.cpu_count() or 1)
