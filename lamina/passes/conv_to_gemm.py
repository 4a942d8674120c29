"""`conv-to-gemm` (hl -> hl): hl.conv -> hl.matmul (BLAS) plus index-mapping hl ops, so that convolutions run in
the GEMM rather than the direct loop nest (1-2 GFLOP/s). Two forms:

- im2col: columns `[N, g, C/g * K, P]` (channel in group and kernel offset x output
  position) built as `hl.pad` + one `hl.gather` per spatial dim whose index is iota
  arithmetic (`o * stride + j * dilation`), so that the loop lowering reads
  `x[n, c, oh*s + kh*d - lo, ...]` with affine index math and a masked load for the
  padding -- no index table in memory (it cost 8 B of traffic and a dependent load
  per element). The GEMM reads the columns in their own 7-d shape
  `[N, g, C/g, *K, *P]` (a reshape of a buffer is the same buffer), so the kernel
  writing them divides nothing. Weight gradients (a large "kernel": the output
  gradient, a 3x3 "output") use transposed columns `[N, g, P, C/g * K]`, whose
  contiguous rows are the long kernel rows. Weights `[O, C/g, *kernel]` are
  `[g, O/g, C/g * K]` matrices shared by the batch; the product `[N, g, O/g, P]` is
  already NCHW.
- shifted adds (`_lower_shifted`): stride 1 and fewer output than input channels --
  typically an input gradient -- multiply the input as it lies by the weights,
  `Z[(o, k), s] = W[o, :, k] . x[:, s]`, then add the K shifted products; `O * K * S`
  products instead of `C * K * P` columns.

This covers the gradients too: both are convs (the input gradient with
input_dilation, the weight gradient with the batch as channels and few output
positions). Bench CNN, standalone C, 1 thread, the columns' kernels: conv 2 forward
1.50 -> 0.20 ms, its input gradient 3.26 ms (columns) -> GEMM + ~0.15 ms of shifted
adds fused into the pool gradient, its weight gradient 1.70 -> 0.20 ms, conv 1's
weight gradient 0.69 -> 0.05 ms.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, i64
from xdsl.passes import ModulePass

from lamina.dialects.hl import contract, indexing
from lamina.dialects.hl import shape as sh
from lamina.dialects.hl.base import element_of, shape_of, tensor_type
from lamina.dialects.hl.builder import Builder, Value
from lamina.passes import shifted_windows

# The gather costs ~ N*C*K*P element copies, the direct loop N*O*C*K*P multiply-adds:
# with fewer than 8 output channels per group the direct loop (with its window lanes)
# wins (measured: 2x3x32x32 * 4x3x3x3: 99 us direct, 279 us im2col; 8 channels
# already win 3x), and tiny convs gain nothing.
MIN_MACS = 1 << 15
MIN_OUT_CHANNELS = 8
# im2col elements (N * C * K * P) of one GEMM: a conv with more is cut into bands of
# output rows, one columns buffer and GEMM each (16 MiB of f32; resnet18's 7x7 stem and
# 56x56x64 3x3 convs are 1.8 M per sample), so the buffer stays bounded at any size
COLUMN_BUDGET = 1 << 22
_DTYPES = ("f32", "f64")  # the element types whose matmul runs through BLAS


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
    return macs >= MIN_MACS and o // op.prop("groups") >= MIN_OUT_CHANNELS


def _window_positions(b: Builder, k: int, out: int, stride: int, dil: int,
                      first: int = 0) -> Value:
    """`[k, out]` i64: padded coordinate `(first + o) * stride + j * dil` of kernel
    offset j at output position o -- iota arithmetic the loop lowering fuses into the
    gather as index math (no table in memory)."""
    def scaled(dim: int, factor: int) -> Value:
        i = b.emit(sh.IotaOp, dim=dim, result_type=tensor_type(i64, [k, out]))
        return i if factor == 1 else i * factor

    positions = scaled(0, dil) + scaled(1, stride)
    return positions + first * stride if first else positions


def _bands(op: contract.ConvOp) -> list[tuple[int, int]]:
    """The output rows (first spatial dim) of each GEMM: all of them, or bands whose
    columns fit `COLUMN_BUDGET`."""
    x, w = op.operands
    n, c = shape_of(x.type)[:2]
    k = shape_of(w.type)[2:]
    out = shape_of(op.results[0].type)[2:]
    per_row = n * c * math.prod(k) * math.prod(out[1:])
    rows = max(1, min(out[0], COLUMN_BUDGET // max(per_row, 1)))
    count = -(-out[0] // rows)
    rows = -(-out[0] // count)  # even bands
    return [(a, min(a + rows, out[0])) for a in range(0, out[0], rows)]


def _columns(b: Builder, op: contract.ConvOp, transposed: bool,
             band: tuple[int, int] | None = None) -> Value:
    """The im2col matrices of `op`'s input: `[N, g, C/g * K, P]` (rows: channel in
    group, kernel offset; columns: output position), or `[N, g, P, C/g * K]` when
    `transposed`; with `band`, only for those output rows of the first spatial dim.
    Built as pad + one gather per spatial dim with iota-computed indices,
    so that every element is `x[n, c, o*s + j*d - lo, ...]` (bounds checks for the
    padding) -- affine index math that gcc vectorizes along the innermost dim."""
    x, w = op.operands
    nd, stride, lo, hi, dil, idil = _geometry(op)
    n, c = shape_of(x.type)[:2]
    _, cg, *k = shape_of(w.type)
    g = op.prop("groups")
    out = list(shape_of(op.results[0].type)[2:])
    first = 0
    if band is not None:
        first, out[0] = band[0], band[1] - band[0]
    t = b.emit(indexing.PadOp, x, low=(0, 0, *lo), high=(0, 0, *hi),
               interior=(0, 0, *(d - 1 for d in idil)), value=0.0)
    for i in range(nd):  # [N, C, K0, O0, ..., K(i-1), O(i-1), S(i), ...]
        t = b.emit(indexing.GatherOp, t, _window_positions(
            b, k[i], out[i], stride[i], dil[i], first if i == 0 else 0), axis=2 + 2 * i)
    t = t.reshape((n, g, cg, *(m for pair in zip(k, out, strict=True) for m in pair)))
    ks = [3 + 2 * i for i in range(nd)]
    os_ = [4 + 2 * i for i in range(nd)]
    kt, p = math.prod(k), math.prod(out)
    if transposed:
        return t.permute(0, 1, *os_, 2, *ks).reshape((n, g, p, cg * kt))
    return t.permute(0, 1, 2, *ks, *os_).reshape((n, g, cg * kt, p))


def _pointwise(op: contract.ConvOp) -> bool:
    """A 1x1 conv with stride 1 and no padding or dilation of its input: a GEMM of the
    weights by the input as it lies (`[N, g, C/g, P]`)."""
    _, stride, lo, hi, _, idil = _geometry(op)
    k = shape_of(op.operands[1].type)[2:]
    return all(v == 1 for v in (*k, *stride, *idil)) and not any((*lo, *hi))


def _lower(b: Builder, op: contract.ConvOp) -> Value:
    x, w = op.operands
    n, c, *spatial = shape_of(x.type)
    o, cg, *k = shape_of(w.type)
    out = shape_of(op.results[0].type)[2:]
    g, og = op.prop("groups"), o // op.prop("groups")
    kt = math.prod(k)
    # the columns' innermost dim is the last output dim, or with `transposed` the last
    # kernel dim: the longer one makes the longer contiguous rows (weight gradients
    # have a large "kernel" -- the output gradient -- and a 3x3 "output")
    transposed = k[-1] > out[-1]
    bands = [(0, out[0])] if _pointwise(op) else _bands(op)
    parts, lhs = [], None
    for band in bands:
        if _pointwise(op):  # the input is its own columns matrix: no copy
            cols = b.wrap(x).reshape((n, g, cg, math.prod(out)))
        else:
            cols = _columns(b, op, transposed, band if len(bands) > 1 else None)
        if transposed:
            cols = cols.permute(0, 1, 3, 2)
        if lhs is None:
            lhs = b.wrap(w).reshape((1, g, og, cg * kt)).broadcast_to((n, g, og, cg * kt))
        y = b.emit(contract.MatmulOp, lhs, cols)  # [N, g, O/g, P]: already NCHW
        parts.append(y.reshape((n, o, band[1] - band[0], *out[1:])))
    if len(parts) == 1:
        return parts[0]
    return b.emit(indexing.ConcatOp, *parts, dim=2)


def _shift_adds(op: contract.ConvOp) -> bool:
    """Whether `op` is cheaper as a product of the input itself followed by shifted
    adds: stride 1, no input dilation, one group, and fewer output than input channels
    (the products `O * K * S` are then fewer than the columns `C * K * P`)."""
    x, w = op.operands
    nd, stride, _, _, _, idil = _geometry(op)
    o, c = shape_of(w.type)[0], shape_of(x.type)[1]
    spatial, out = shape_of(x.type)[2:], shape_of(op.results[0].type)[2:]
    return (op.prop("groups") == 1 and all(v == 1 for v in (*stride, *idil))
            and o * math.prod(spatial) < c * math.prod(out))


def _lower_shifted(b: Builder, op: contract.ConvOp) -> Value:
    """y[n, o, p] = sum_k Z[n, o, k, p + k*d - lo] with Z = W[(o, k), c] @ x[n, c, s]
    (zero outside x): the GEMM reads the input in place, and the adds read each product
    once -- instead of columns with K copies of every input element. The bench CNN's
    input gradient of conv 2 (16 -> 8 channels): columns of 903K elements, products
    of 451K."""
    x, w = op.operands
    _, _, lo, hi, dil, _ = _geometry(op)
    n, c, *spatial = shape_of(x.type)
    o, _, *k = shape_of(w.type)
    out = shape_of(op.results[0].type)[2:]
    nd, kt, size = len(k), math.prod(k), math.prod(spatial)
    wk = b.wrap(w).permute(0, *range(2, 2 + nd), 1)  # [O, *k, C]
    lhs = wk.reshape((1, o * kt, c)).broadcast_to((n, o * kt, c))
    z = b.emit(contract.MatmulOp, lhs, b.wrap(x).reshape((n, c, size)))  # [N, O*K, S]
    z = b.emit(indexing.PadOp, z.reshape((n, o, *k, *spatial)), low=(0, 0, *[0] * nd, *lo),
               high=(0, 0, *[0] * nd, *hi), interior=(0,) * (2 + 2 * nd), value=0.0)
    total = None
    for ks in itertools.product(*map(range, k)):
        start = (0, 0, *ks, *(j * d for j, d in zip(ks, dil, strict=True)))
        stop = (n, o, *(j + 1 for j in ks), *(b + m for b, m in zip(start[2 + nd:], out,
                                                                        strict=True)))
        term = b.emit(indexing.SliceOp, z, start=start, stop=stop,
                      step=(1,) * (2 + 2 * nd)).reshape((n, o, *out))
        total = term if total is None else total + term
    assert total is not None
    return total


def convs_to_matmuls(fn: func.FuncOp) -> None:
    """Rewrite every floating-point `hl.conv` large enough to gain from a GEMM, and
    every depthwise one into shifted multiply-adds."""
    for conv in [op for op in fn.body.block.ops if isinstance(op, contract.ConvOp)]:
        if shifted_windows.depthwise(conv):
            lower = shifted_windows.lower_depthwise
        elif _pays(conv):
            lower = _lower_shifted if _shift_adds(conv) else _lower
        else:
            continue
        result = lower(Builder.before(conv), conv)
        conv.results[0].replace_all_uses_with(result.ssa)
        conv.detach()
        conv.erase()


@dataclass(frozen=True)
class ConvToGemmPass(ModulePass):
    """hl -> hl: every f32/f64 `hl.conv` large enough to gain from a GEMM as im2col
    gathers (or shifted adds) + `hl.matmul`; depthwise convs as weighted strided
    slices (`shifted_windows`)."""

    name = "conv-to-gemm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in [f for f in op.ops if isinstance(f, func.FuncOp)]:
            convs_to_matmuls(fn)
