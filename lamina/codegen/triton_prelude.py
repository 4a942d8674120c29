"""The fixed head of every generated Triton file: imports and `@triton.jit` helpers.

Helpers cover what `triton.language` lacks or does differently from lamina's
semantics in reductions and dots: NaN-propagating max/min, first-index
argmax/argmin combines, bf16 dots in the interpreter. The scalar ops' helpers
(libdevice functions with interpreter formulas) come from the scalar-op table.
"""

PRELUDE = '''\
import base64
import os

import triton
import triton.language as tl
from triton.language.extra import libdevice

_INTERPRET = tl.constexpr(os.environ.get("TRITON_INTERPRET", "0") == "1")


@triton.jit
def _max_nan(a, b):
    return tl.where((a > b) | (a != a), a, b)


@triton.jit
def _min_nan(a, b):
    return tl.where((a < b) | (a != a), a, b)


@triton.jit
def _prod(a, b):
    return a * b


@triton.jit
def _or(a, b):
    return a | b


@triton.jit
def _and(a, b):
    return a & b


@triton.jit
def _argmax_combine(v1, i1, v2, i2):
    n1 = v1 != v1
    n2 = v2 != v2
    tie = (v1 == v2) | (n1 & n2)
    pick1 = (v1 > v2) | (n1 & ~n2) | (tie & (i1 < i2))
    return tl.where(pick1, v1, v2), tl.where(pick1, i1, i2)


@triton.jit
def _argmin_combine(v1, i1, v2, i2):
    n1 = v1 != v1
    n2 = v2 != v2
    tie = (v1 == v2) | (n1 & n2)
    pick1 = (v1 < v2) | (n1 & ~n2) | (tie & (i1 < i2))
    return tl.where(pick1, v1, v2), tl.where(pick1, i1, i2)


@triton.jit
def _dot_bf16(a, b, acc):
    if _INTERPRET:  # the interpreter's dot misreads bf16: multiply in f32 there
        return tl.dot(a.to(tl.float32), b.to(tl.float32), acc, input_precision="ieee")
    else:
        return tl.dot(a, b, acc)
'''
