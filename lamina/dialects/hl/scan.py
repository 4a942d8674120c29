"""Scans and sorting: `hl.scan` (inclusive prefix combine along one dim: cumsum,
cumprod, cummax, cummin, logcumsumexp) and `hl.argsort` (the stable sorting permutation
along one dim; sort/topk/kthvalue/median gather the values through it, so their
gradient is gather's).

A scan is sequential along its dim and parallel across the others: it lowers to one
kernel per program whose points are the other dims, each carrying its accumulator
along the dim (`loop.seq_for`, `lower_hl_to_loop/scan.py`). Sorting lowers to a rank
sort: a kernel over every element counts the elements that sort before it (a
`loop.reduce`, O(n) memory, O(n^2) comparisons per row) and writes its index at that
rank; NaN sorts as the largest value, ties keep their order (torch's stable sort).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects import math as mth
from xdsl.dialects.builtin import IntegerType, TensorType, i1, i64
from xdsl.irdl import irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure

from lamina import dtypes
from lamina.dialects.hl.base import (
    HlOp,
    dtype_of,
    element_of,
    int_prop,
    prop_def,
    require,
    shape_of,
)
from lamina.dialects.hl.elementwise.binary import AndOp
from lamina.dialects.scalar import compute_type, is_float, is_unsigned
from lamina.errors import DTypeError, GradientError

SCAN_KINDS = ("add", "mul", "max", "min", "logaddexp")


def _logaddexp(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """torch's log-add-exp of two: max + log1p(exp(min - max)), and where both are the
    same infinity, that infinity (no inf - inf)."""
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    with np.errstate(invalid="ignore", over="ignore"):
        out = hi + np.log1p(np.exp(lo - hi))
    same_inf = (lo == hi) & np.isinf(lo)
    return np.where(same_inf, a, out).astype(a.dtype)


def _bool_safe(fn):
    return lambda a, b: fn(a, b).astype(a.dtype)


NUMPY_COMBINE = {
    "add": lambda a, b: (a | b) if a.dtype == np.bool_ else a + b,
    "mul": lambda a, b: (a & b) if a.dtype == np.bool_ else a * b,
    "max": _bool_safe(np.maximum),
    "min": _bool_safe(np.minimum),
    "logaddexp": _logaddexp,
}


def _scan_reference(x: np.ndarray, kind: str, axis: int, reverse: bool) -> np.ndarray:
    out = np.array(np.flip(x, axis) if reverse else x, copy=True)
    view = np.moveaxis(out, axis, 0)
    combine = NUMPY_COMBINE[kind]
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(1, view.shape[0]):
            view[i] = combine(view[i - 1], view[i])
    return np.flip(out, axis) if reverse else out


@irdl_op_definition
class ScanOp(HlOp):
    """Inclusive scan along `dim` with the combiner `kind` (add, mul, max, min,
    logaddexp), from the end when `reverse`: out[i] = x[0] (+) ... (+) x[i].
    max/min propagate NaN; logaddexp is torch's stable one (floats only).
    `%r = hl.scan %x kind="add" dim=1 reverse=false : tensor<4x8xf32>`"""

    name = "hl.scan"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    kind = prop_def()
    dim = int_prop()
    reverse = prop_def()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        kind, dim, rank = props["kind"], props["dim"], len(shape_of(t))
        require(kind in SCAN_KINDS, f"kind must be one of {', '.join(SCAN_KINDS)}, got {kind!r}")
        require(0 <= dim < max(rank, 1) and rank > 0, f"dim {dim} out of range for rank {rank}")
        require(isinstance(props["reverse"], bool), "reverse must be a bool")
        if kind == "logaddexp":
            require(dtype_of(t).is_floating_point, f"logaddexp scans floats, got {t}", DTypeError)
        return t

    def reference(self, x):
        return _scan_reference(x, self.prop("kind"), self.prop("dim"), self.prop("reverse"))

    def combine(self, s, a, b):
        """The combiner on two scalars (the loop lowering's body)."""
        element = element_of(self.operands[0].type)
        t, kind = compute_type(element), self.prop("kind")
        if kind == "logaddexp":
            hi = s.op(arith.MaximumfOp(a, b))
            lo = s.op(arith.MinimumfOp(a, b))
            out = s.op(arith.AddfOp(hi, s.op(mth.Log1pOp(s.op(mth.ExpOp(
                s.op(arith.SubfOp(lo, hi))))))))
            inf = s.const(float("inf"), t)
            same = s.op(arith.CmpfOp(lo, hi, "oeq"))
            infinite = s.op(arith.CmpfOp(s.op(mth.AbsFOp(lo)), inf, "oeq"))
            return s.op(arith.SelectOp(s.op(arith.AndIOp(same, infinite)), a, out))
        if is_float(t):
            cls = {"add": arith.AddfOp, "mul": arith.MulfOp, "max": arith.MaximumfOp,
                   "min": arith.MinimumfOp}[kind]
        elif t == i1:
            cls = {"add": arith.OrIOp, "mul": arith.AndIOp, "max": arith.OrIOp,
                   "min": arith.AndIOp}[kind]
        else:
            unsigned = is_unsigned(element)
            cls = {"add": arith.AddiOp, "mul": arith.MuliOp,
                   "max": arith.MaxUIOp if unsigned else arith.MaxSIOp,
                   "min": arith.MinUIOp if unsigned else arith.MinSIOp}[kind]
        return s.op(cls(a, b))

    def vjp(self, ct, out, x):
        kind, dim, reverse = self.prop("kind"), self.prop("dim"), self.prop("reverse")
        b = ct.builder
        if kind == "add":  # the transpose of a prefix sum is a suffix sum
            return (b.emit(ScanOp, ct, kind="add", dim=dim, reverse=not reverse),)
        if kind == "logaddexp":
            return (_logcumsumexp_vjp(ct, out, x, dim, reverse),)
        if kind == "mul":
            return (_cumprod_vjp(ct, out, x, dim, reverse),)
        raise GradientError(f"hl.scan kind={kind!r} has no gradient rule: cummax/cummin "
                            "differentiate through the gather of their indices")


def _scan(v, kind: str, dim: int, reverse: bool):
    return v.builder.emit(ScanOp, v, kind=kind, dim=dim, reverse=reverse)


def _logcumsumexp_vjp(ct, out, x, dim: int, reverse: bool):
    # torch's (and TensorFlow's) stable rule: the positive and negative parts of the
    # cotangent accumulated in log space, against the output. In float64, as torch's
    # CPU kernels accumulate (the output too): the final difference cancels, and
    # float32 sums lost ~1e-3
    b, dtype = ct.builder, x.dtype
    ct, x = ct.to(dtypes.float64), x.to(dtypes.float64)
    out = _scan(x, "logaddexp", dim, reverse) if dtype != dtypes.float64 else out
    lowest = float(np.finfo(np.float64).min)
    log_abs = ct.abs().log()
    pos = b.select(ct > 0.0, log_abs, lowest)
    neg = b.select(ct < 0.0, log_abs, lowest)
    up = (_scan(pos - out, "logaddexp", dim, not reverse) + x).exp()
    down = (_scan(neg - out, "logaddexp", dim, not reverse) + x).exp()
    return (up - down).to(dtype)


def _cumprod_vjp(ct, out, x, dim: int, reverse: bool):
    """Exact with zeros in the input (no division by them): before the first zero of a
    row, grad_k = suffix_sum(ct * out)_k / x_k; at the first zero, the suffix sum of
    ct * cumprod(x with that zero made 1); after it, 0."""
    b = ct.builder
    zero = x == 0.0 if x.dtype.is_floating_point else x == 0
    zeros_so_far = _scan(zero.to(dtypes.int64), "add", dim, reverse)
    before = zeros_so_far == 0
    first = b.emit(AndOp, zero, zeros_so_far == 1)
    one = b.splat(1, x.type)
    x_first_as_one = b.select(first, one, x)
    out_first_as_one = _scan(x_first_as_one, "mul", dim, reverse)
    at_first = _scan(ct * out_first_as_one, "add", dim, not reverse)
    safe_x = b.select(before, x, one)
    before_first = _scan(ct * out, "add", dim, not reverse) / safe_x
    zero_t = b.splat(0, x.type)
    return b.select(before, before_first, b.select(first, at_first, zero_t))


# ---------------------------------------------------------------- sorting


def sort_key_order(x: np.ndarray, descending: bool) -> np.ndarray:
    """Stable argsort along the last axis, NaN as the largest value (torch's order)."""
    if x.dtype == np.bool_:
        x = x.astype(np.int8)
    if np.issubdtype(x.dtype, np.floating):
        nan = np.isnan(x)
        value = np.where(nan, 0, x)
        # lexsort: the last key is the primary one, and it is stable
        return np.lexsort((-value, ~nan) if descending else (value, nan), axis=-1)
    # ~x (= -x - 1) reverses the order of every integer type and never overflows
    return np.argsort(~x if descending else x, axis=-1, kind="stable")


@irdl_op_definition
class ArgsortOp(HlOp):
    """The stable sorting permutation along `dim` (int64): out[..., r, ...] is the index
    of the element of rank r; NaN sorts as the largest value; `descending` reverses the
    order of values and keeps ties in index order (torch.sort(stable=True)).
    `%r = hl.argsort %x dim=1 descending=false : tensor<4x8xf32> -> tensor<4x8xi64>`"""

    name = "hl.argsort"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    dim = int_prop()
    descending = prop_def()
    traits = traits_def(Pure())
    DIFFERENTIABLE: ClassVar = False

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        dim, rank = props["dim"], len(shape_of(t))
        require(rank > 0 and 0 <= dim < rank, f"dim {dim} out of range for rank {rank}")
        require(isinstance(props["descending"], bool), "descending must be a bool")
        return TensorType(i64, shape_of(t))

    def reference(self, x):
        dim = self.prop("dim")
        moved = np.moveaxis(x, dim, -1)
        return np.moveaxis(sort_key_order(moved, self.prop("descending")), -1, dim).astype(np.int64)

    def before(self, s, a, b):
        """i1: the element a sorts strictly before b by value (ties decided by index by
        the caller). NaN is the largest value."""
        element = element_of(self.operands[0].type)
        t, desc = compute_type(element), self.prop("descending")
        lo, hi = (b, a) if desc else (a, b)
        if is_float(t):
            less = s.op(arith.CmpfOp(lo, hi, "olt"))
            hi_nan = s.op(arith.CmpfOp(hi, hi, "uno"))
            lo_num = s.op(arith.CmpfOp(lo, lo, "ord"))
            return s.op(arith.OrIOp(less, s.op(arith.AndIOp(hi_nan, lo_num))))
        if t == i1:
            t8 = IntegerType(8)
            lo, hi = s.op(arith.ExtUIOp(lo, t8)), s.op(arith.ExtUIOp(hi, t8))
            return s.op(arith.CmpiOp(lo, hi, "ult"))
        return s.op(arith.CmpiOp(lo, hi, "ult" if is_unsigned(element) else "slt"))

    def same(self, s, a, b):
        """i1: a and b tie (NaN ties NaN)."""
        t = compute_type(element_of(self.operands[0].type))
        if is_float(t):
            eq = s.op(arith.CmpfOp(a, b, "oeq"))
            both_nan = s.op(arith.AndIOp(s.op(arith.CmpfOp(a, a, "uno")),
                                         s.op(arith.CmpfOp(b, b, "uno"))))
            return s.op(arith.OrIOp(eq, both_nan))
        return s.op(arith.CmpiOp(a, b, "eq"))


__all__ = ["ArgsortOp", "ScanOp"]
