"""hl.conv -> im2col + hl.matmul, so that convolutions run in the GEMM (BLAS) rather
than the direct loop nest (1-2 GFLOP/s).

The columns are ONE `hl.gather` of each sample's flattened input with a constant
index `[g, C/g * K, P]` (channel in group and kernel offset x output position),
computed here from the stride, dilation, padding and input_dilation: a padded or
dilation-hole position reads a zero appended to the sample (`hl.concat`). One
gather kernel does one load per column element; slices joined by `hl.concat`
would evaluate every slice per element (a select chain), and slices plus an add
per kernel offset would be recomputed inside each consumer. Weights
`[O, C/g, *kernel]` are `[g, O/g, C/g * K]` matrices shared by the batch; the
product `[N, g, O/g, P]` is already NCHW. This covers the gradients too: both
are convs (the input gradient with input_dilation, the weight gradient with the
batch as channels and few output positions).

Measured (1 thread, the bench CNN's convs): 2.1 -> 1.3 ms, 7.9 -> 2.3 ms (forward),
8.2 -> 4.6 ms (input gradient), 2.0 -> 1.0 ms and 8.1 -> 2.3 ms (weight gradients).
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType
from xdsl.ir import Operation, SSAValue

from lamina.dialects.hl import contract, indexing
from lamina.dialects.hl import shape as sh
from lamina.dialects.hl.base import element_of, numpy_to_dense, shape_of, tensor_type

# The gather costs ~ N*C*K*P element copies, the direct loop N*O*C*K*P multiply-adds:
# with fewer than 8 output channels per group the direct loop (with its window lanes)
# wins (measured: 2x3x32x32 * 4x3x3x3: 99 us direct, 279 us im2col; 8 channels
# already win 3x), and tiny convs gain nothing.
MIN_MACS = 1 << 15
MIN_OUT_CHANNELS = 8
MAX_INDEX = 1 << 20  # entries of the im2col index constant (C * K * P int64s)
_DTYPES = ("f32", "f64")  # the element types whose matmul runs through BLAS


class _Emitter:
    def __init__(self) -> None:
        self.ops: list[Operation] = []

    def __call__(self, cls, *operands: SSAValue, **kw) -> SSAValue:
        op = cls.build(*operands, **kw)
        self.ops.append(op)
        return op.results[0]

    def reshape(self, v: SSAValue, dims) -> SSAValue:
        if tuple(shape_of(v.type)) == tuple(dims):
            return v
        return self(sh.ReshapeOp, v, result_type=tensor_type(element_of(v.type), list(dims)))


def _geometry(op: contract.ConvOp):
    x, w = op.operands
    nd = len(shape_of(x.type)) - 2
    pad = op.prop("padding")
    lo, hi = pad[0::2], pad[1::2]
    idil = tuple(op.prop("input_dilation")) if op.input_dilation is not None else (1,) * nd
    return nd, tuple(op.prop("stride")), lo, hi, tuple(op.prop("dilation")), idil


def _pays(op: contract.ConvOp) -> bool:
    x, w = op.operands
    if str(element_of(x.type)) not in _DTYPES:
        return False
    n, o, *out = shape_of(op.results[0].type)
    _, cg, *k = shape_of(w.type)
    macs = n * o * math.prod(out) * cg * math.prod(k)
    c = shape_of(x.type)[1]
    return (macs >= MIN_MACS and o // op.prop("groups") >= MIN_OUT_CHANNELS
            and c * math.prod(k) * math.prod(out) <= MAX_INDEX)


def _column_indices(op: contract.ConvOp) -> np.ndarray:
    """[g, C/g * K, P] flat positions in one sample's `[C * S + 1]` input (channels and
    spatial dims row-major, then a zero): group, row (channel in group, kernel offset),
    column output position. Padding and the holes of `input_dilation` read the zero."""
    x, w = op.operands
    nd, stride, lo, _, dil, idil = _geometry(op)
    c, *spatial = shape_of(x.type)[1:]
    _, cg, *k = shape_of(w.type)
    g = op.prop("groups")
    out = shape_of(op.results[0].type)[2:]
    flat = np.zeros([1] * (2 * nd), dtype=np.int64)
    valid = np.ones([1] * (2 * nd), dtype=bool)
    for i in range(nd):  # axes: kernel dims, then output dims
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = k[i], 1
        koff = (np.arange(k[i]) * dil[i]).reshape(shape)
        shape[i], shape[nd + i] = 1, out[i]
        q = koff + (np.arange(out[i]) * stride[i] - lo[i]).reshape(shape)  # dilated coords
        src = q // idil[i]
        valid = valid & (q % idil[i] == 0) & (src >= 0) & (src < spatial[i])
        flat = flat * spatial[i] + src
    size, kt, p = math.prod(spatial), math.prod(k), math.prod(out)
    flat = np.where(valid, flat, -1).reshape(1, 1, kt, p)
    channel = np.arange(c).reshape(g, cg, 1, 1) * size
    rows = np.where(flat < 0, c * size, channel + flat)  # `c * size`: the zero
    return rows.reshape(g, cg * kt, p)


def _lower(op: contract.ConvOp) -> tuple[list[Operation], SSAValue]:
    e = _Emitter()
    x, w = op.operands
    n, c, *spatial = shape_of(x.type)
    o, cg, *k = shape_of(w.type)
    out = shape_of(op.results[0].type)[2:]
    g, og = op.prop("groups"), o // op.prop("groups")
    kt, size = math.prod(k), math.prod(spatial)
    element = element_of(x.type)
    index = _column_indices(op)
    zero = e(sh.SplatOp, value=0.0, result_type=tensor_type(element, [n, 1]))
    table = e(indexing.ConcatOp, e.reshape(x, (n, c * size)), zero, dim=1)
    index = e(sh.ConstantOp, value=numpy_to_dense(index, IntegerType(64)))
    cols = e(indexing.GatherOp, table, index, axis=1)  # [N, g, C/g*K, P]
    lhs = e.reshape(w, (1, g, og, cg * kt))
    if n != 1:
        lhs = e(sh.BroadcastInDimOp, lhs, dims=(0, 1, 2, 3),
                result_type=tensor_type(element, [n, g, og, cg * kt]))
    y = e(contract.MatmulOp, lhs, cols)  # [N, g, O/g, P]: already NCHW
    return e.ops, e.reshape(y, (n, o, *out))


def convs_to_matmuls(fn: func.FuncOp) -> None:
    """Rewrite every floating-point `hl.conv` large enough to gain from a GEMM."""
    for conv in [op for op in fn.body.block.ops if isinstance(op, contract.ConvOp)]:
        if not _pays(conv):
            continue
        ops, result = _lower(conv)
        fn.body.block.insert_ops_before(ops, conv)
        conv.results[0].replace_all_uses_with(result)
        conv.detach()
        conv.erase()
