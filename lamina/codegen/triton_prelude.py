"""The fixed head of every generated Triton file: imports and `@triton.jit` helpers.

Helpers cover what `triton.language` lacks or does differently from lamina's
semantics: NaN-propagating max/min reductions, first-index argmax/argmin
combines, floor division, and math functions Triton offers only through
libdevice (tanh, log1p, expm1, pow, rint), which the interpreter cannot run:
there (`_INTERPRET`) they fall back to formulas over core ops.
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


@triton.jit
def _floordiv(a, b):
    q = a // b
    fix = ((a % b) != 0) & ((a < 0) != (b < 0))
    return q - fix.to(q.dtype)


@triton.jit
def _tanh(x):
    if _INTERPRET:
        ax = tl.abs(x)
        e = tl.exp(-2.0 * ax)
        big = (1.0 - e) / (1.0 + e)
        x2 = x * x
        small = ax * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0 - x2 * (17.0 / 315.0))))
        t = tl.where(ax < 0.0625, small, big)
        return tl.where(x < 0, -t, t)
    else:
        return libdevice.tanh(x)


@triton.jit
def _log1p(x):
    if _INTERPRET:
        u = 1.0 + x
        return tl.where(u == 1.0, x, tl.log(u) * (x / (u - 1.0)))
    else:
        return libdevice.log1p(x)


@triton.jit
def _expm1(x):
    if _INTERPRET:
        u = tl.exp(x)
        small = x + x * x * (0.5 + x * (1.0 / 6.0))
        return tl.where(tl.abs(x) < 1e-3, small, u - 1.0)
    else:
        return libdevice.expm1(x)


@triton.jit
def _pow(a, b):
    if _INTERPRET:
        r = tl.exp(b * tl.log(tl.abs(a)))
        bi = b.to(tl.int64).to(b.dtype)
        odd = (bi == b) & ((bi.to(tl.int64) % 2) != 0)
        r = tl.where((a < 0) & odd, -r, r)
        r = tl.where((a < 0) & (bi != b), float("nan"), r)
        r = tl.where(b == 0, 1.0, r)
        return r.to(a.dtype)
    else:
        return libdevice.pow(a, b)


@triton.jit
def _rint(x):
    if _INTERPRET:
        f = tl.floor(x)
        d = x - f
        even = (f - 2.0 * tl.floor(f * 0.5)) == 0
        return tl.where((d > 0.5) | ((d == 0.5) & ~even), f + 1.0, f)
    else:
        return libdevice.rint(x)


@triton.jit
def _sqrt(x):
    if x.dtype == tl.float32:
        return tl.sqrt_rn(x)  # tl.sqrt is approximate in f32
    else:
        return tl.sqrt(x)


@triton.jit
def _round(x):
    t = tl.floor(tl.abs(x) + 0.5)
    return tl.where(x < 0, -t, t)


@triton.jit
def _trunc(x):
    return tl.where(x < 0, tl.ceil(x), tl.floor(x))
'''
