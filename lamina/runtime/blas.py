"""Find a CBLAS already in the process (numpy's bundled OpenBLAS) and hand its GEMM
entry points to compiled C programs (see `lamina.codegen.c_kernels`).

Nothing is downloaded or linked: numpy wheels ship `libscipy_openblas64_*.so`
(64-bit integers, symbols `scipy_cblas_sgemm64_`), older ones `libopenblas*.so`
(`cblas_sgemm`). Loading the path numpy already loaded returns numpy's handle, so
lamina and numpy share one library. lamina calls it single-threaded from its own
OpenMP team (`openblas_set_num_threads_local(1)` on each thread): OpenBLAS's
worker threads spin after each call and, interleaved with lamina's kernels on a
2-core machine, measured 3-4x slower attention blocks (and slowed torch too). `LAMINA_BLAS=0` turns the dispatch off
(every GEMM then runs the generated microkernel), `LAMINA_BLAS=/path/lib.so` picks
a library.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
from dataclasses import dataclass

from lamina import knobs
from lamina.codegen.c_kernels import BLAS_SYMBOLS, ILP64_SYMBOL, THREADS_SYMBOL

# (single, double, 64-bit integers) symbol names, most specific first
_NAMES = [("scipy_cblas_sgemm64_", "scipy_cblas_dgemm64_", True),
          ("cblas_sgemm64_", "cblas_dgemm64_", True),
          ("cblas_sgemm", "cblas_dgemm", None)]


@dataclass(frozen=True)
class Blas:
    path: str
    sgemm: int
    dgemm: int
    ilp64: bool
    threads_local: int = 0  # openblas_set_num_threads_local, 0 when absent


def _candidates() -> list[str]:
    choice = knobs.blas_choice()
    if choice == "0":
        return []
    if choice:
        return [choice]
    import numpy as np

    root = os.path.dirname(os.path.dirname(np.__file__))
    found = []
    for pattern in ("numpy.libs/libscipy_openblas*.so*", "numpy.libs/libopenblas*.so*",
                    "numpy/.dylibs/libscipy_openblas*.dylib", "numpy/.dylibs/libopenblas*",
                    "scipy_openblas64/lib/libscipy_openblas*.so*",
                    "scipy_openblas32/lib/libscipy_openblas*.so*"):
        found += sorted(glob.glob(os.path.join(root, pattern)))
    return found


def _ilp64(lib: ctypes.CDLL, path: str) -> bool:
    """Whether `cblas_sgemm` takes 64-bit integers (OpenBLAS says so in its config)."""
    try:
        config = lib.openblas_get_config
        config.restype = ctypes.c_char_p
        return b"USE64BITINT" in (config() or b"")
    except AttributeError:
        return "64" in os.path.basename(path)


@functools.cache
def find() -> Blas | None:
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for single, double, ilp64 in _NAMES:
            try:
                s, d = getattr(lib, single), getattr(lib, double)
            except AttributeError:
                continue
            wide = _ilp64(lib, path) if ilp64 is None else ilp64
            local = getattr(lib, "openblas_set_num_threads_local", None)
            return Blas(path, _address(s), _address(d), wide,
                        _address(local) if local is not None else 0)
    return None


def _address(fn) -> int:
    return ctypes.cast(fn, ctypes.c_void_p).value or 0


def bind(lib: ctypes.CDLL) -> bool:
    """Store the BLAS entry points into a loaded lamina program; False when there is
    no BLAS (the program then keeps its own GEMM)."""
    blas = find()
    try:
        ctypes.c_void_p.in_dll(lib, BLAS_SYMBOLS["float"]).value = blas.sgemm if blas else None
        ctypes.c_void_p.in_dll(lib, BLAS_SYMBOLS["double"]).value = blas.dgemm if blas else None
        ctypes.c_int.in_dll(lib, ILP64_SYMBOL).value = int(blas.ilp64) if blas else 1
        ctypes.c_void_p.in_dll(lib, THREADS_SYMBOL).value = (blas.threads_local or None
                                                             if blas else None)
    except ValueError:  # a library built without the hook
        return False
    return blas is not None
