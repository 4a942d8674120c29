"""Depthwise convs as elementwise combinations of strided slices (hl -> hl, used by
`conv-to-gemm`).

A depthwise conv (one channel per group) reduces a few (3x3) input elements per
output. The direct loop nest puts that reduction innermost, where nothing vectorizes;
written as `K` strided slices of the padded input weighted and added
(`sum_k w[c, k] * xpad[.., p*s + k*d]`), the loop lowering fuses them into one kernel
over the output whose innermost dim is vectorized, the padding a masked load.
mobilenet_v2's 17 depthwise convs: 365 -> 95 ms per call (profiled, loaded 2-core VM).

Pooling windows are left to the window lowering: written this way, a pool feeding an
im2col gather and a residual add (resnet's stem) is recomputed in both kernels, 9
times per element in the gather (the fusion planner's SHARED_COST does not see it).
"""

from __future__ import annotations

import itertools
import math

from lamina.dialects.hl import contract, indexing
from lamina.dialects.hl.base import element_of, shape_of
from lamina.dialects.hl.builder import Builder, Value

__all__ = ["depthwise", "lower_depthwise"]

MAX_TAPS = 49  # window elements (kernel offsets) written as slices; larger stay loops
_DTYPES = ("f32", "f64")


def _slices(b: Builder, xp: Value, out: list[int], offsets: tuple[int, ...],
            stride: tuple[int, ...], dil: tuple[int, ...]) -> Value:
    """The strided slice of `xp` read by window offset `offsets` at every output position
    (over all dims of `xp`)."""
    start = tuple(j * d for j, d in zip(offsets, dil, strict=True))
    stop = tuple(a + (m - 1) * s + 1 for a, m, s in zip(start, out, stride, strict=True))
    return b.emit(indexing.SliceOp, xp, start=start, stop=stop, step=tuple(stride))


def depthwise(op: contract.ConvOp) -> bool:
    """One input and one output channel per group (mobilenet's 3x3 convs, and their
    input gradients), at most `MAX_TAPS` kernel offsets."""
    x, w = op.operands
    o, cg, *k = shape_of(w.type)
    c = shape_of(x.type)[1]
    return (str(element_of(x.type)) in _DTYPES and cg == 1 and o == c == op.prop("groups")
            and c > 1 and math.prod(k) <= MAX_TAPS)


def lower_depthwise(b: Builder, op: contract.ConvOp) -> Value:
    """y[n, c, p] = sum_k w[c, 0, k] * xpad[n, c, p*s + k*d]."""
    x, w = op.operands
    n, c = shape_of(x.type)[:2]
    k = shape_of(w.type)[2:]
    out = shape_of(op.results[0].type)[2:]
    nd = len(k)
    pad = op.prop("padding")
    idil = tuple(op.prop("input_dilation")) if op.input_dilation is not None else (1,) * nd
    xp = b.emit(indexing.PadOp, x, low=(0, 0, *pad[0::2]), high=(0, 0, *pad[1::2]),
                interior=(0, 0, *(d - 1 for d in idil)), value=0.0)
    taps = b.wrap(w).reshape((c, math.prod(k)))
    stride, dil = (1, 1, *op.prop("stride")), (1, 1, *op.prop("dilation"))
    terms = []
    for i, ks in enumerate(itertools.product(*map(range, k))):
        part = _slices(b, xp, [n, c, *out], (0, 0, *ks), stride, dil)
        tap = b.emit(indexing.SliceOp, taps, start=(0, i), stop=(c, i + 1), step=(1, 1))
        terms.append(part * tap.reshape((1, c, *[1] * nd)).broadcast_to((n, c, *out)))
    while len(terms) > 1:  # a balanced tree: shallow expressions for the fusion planner
        pairs = [terms[j] + terms[j + 1] for j in range(0, len(terms) - 1, 2)]
        terms = pairs + terms[len(terms) - len(terms) % 2:]
    return terms[0]
