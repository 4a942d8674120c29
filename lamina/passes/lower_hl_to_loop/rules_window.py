"""Element rules of the window ops conv and reduce_window, and the window geometry
shared with the max-pool gradient pair (`rules_select.py`).

Each is a direct loop nest: a `loop.reduce` over the window (conv: over input
channels and kernel positions) at every output point, reading the operand through
`dilated_coord` (padding, input dilation and cropping become bounds checks); small
unpadded windows are an unrolled chain instead.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType
from xdsl.ir import Operation, SSAValue

from lamina.dialects.hl import contract, window
from lamina.dialects.hl.contract import ones_or, split_padding
from lamina.dialects.scalar import compute_type, is_unsigned
from lamina.passes.lower_hl_to_loop.kernel import (
    KernelBuilder,
    elem_type,
    shape,
)
from lamina.passes.lower_hl_to_loop.rules import _extreme
from lamina.passes.lower_hl_to_loop.rules_index import dilated_coord, fill_or, offset

# Windows of at most this many positions are reduced (and pick their first maximum)
# with an unrolled chain of ops instead of a `loop.reduce`: an argmax loop is a branch
# per position in C (on random data half of them mispredict) and a 2x2 max is a tiny
# simd reduction per window, where the unrolled chain vectorizes across windows.
UNROLL_WINDOW = 16


class Geometry:
    """Per-dim window geometry of a window op or of conv's spatial dims."""

    def __init__(self, sizes, out, window, strides, lo, dilation, input_dilation, hi=None):
        self.sizes, self.out, self.window = list(sizes), list(out), list(window)
        self.strides, self.lo = list(strides), list(lo)
        self.hi = list(hi) if hi is not None else [0] * len(self.lo)
        self.dilation, self.idil = list(dilation), list(input_dilation)

    @classmethod
    def of_window_op(cls, op: Operation) -> Geometry:
        g = op.geometry()  # type: ignore[attr-defined]
        x = op.operands[0]
        out = window.WindowOp.window_shape(x.type, op.props())  # type: ignore[arg-type, attr-defined]
        return cls(shape(x), out, g["window"], g["strides"], g["lo"], g["dilation"],
                   g["input_dilation"], g["hi"])

    def moving(self) -> list[int]:
        """Dims where the window has more than one position."""
        return [d for d, w in enumerate(self.window) if w > 1]

    def operand_index(self, kb: KernelBuilder, o: Sequence[SSAValue],
                      w: Sequence[SSAValue]) -> tuple[tuple[SSAValue, ...], list[SSAValue]]:
        """Operand index (clamped) of window offset `w` of output point `o`, and the
        conditions under which it is a real element (not padding or a dilation hole)."""
        idx, conds = [], []
        for d, (oi, wi) in enumerate(zip(o, w, strict=True)):
            p = offset(kb, kb.add(kb.mul(oi, self.strides[d]), kb.mul(wi, self.dilation[d])),
                       -self.lo[d])
            pmin = -self.lo[d]
            pmax = (self.out[d] - 1) * self.strides[d] + (self.window[d] - 1) * \
                self.dilation[d] - self.lo[d]
            q, c = dilated_coord(kb, p, pmin, pmax, self.sizes[d], self.idil[d])
            idx.append(q)
            conds += c
        return tuple(idx), conds

    def disjoint(self) -> bool:
        """Every operand element lies in at most one window (`max_pool2d(x, 2)`)."""
        return all(w <= s and d == 1 and i == 1 for w, s, d, i in
                   zip(self.window, self.strides, self.dilation, self.idil, strict=True))

    def unpadded(self) -> bool:
        """Every window position is an operand element (no padding, no dilation holes)."""
        return all(lo <= 0 and hi <= 0 and i == 1 for lo, hi, i in
                   zip(self.lo, self.hi, self.idil, strict=True))

    def tiles(self) -> bool:
        """The windows tile the operand exactly: each element is in exactly one window."""
        return self.disjoint() and all(
            w == s and lo == 0 and o * s == n for w, s, lo, o, n in
            zip(self.window, self.strides, self.lo, self.out, self.sizes, strict=True))

    def offsets(self, kb: KernelBuilder, ks: Sequence[SSAValue]) -> list[SSAValue]:
        """Full window offsets from the reduction variables of the moving dims."""
        it = iter(ks)
        return [next(it) if w > 1 else kb.index(0) for w in self.window]


def windowed(kb: KernelBuilder, x: SSAValue, geo: Geometry, o, w, fill) -> SSAValue:
    idx, conds = geo.operand_index(kb, o, w)
    return fill_or(kb, conds, lambda: kb.element(x, idx), fill)


# ---------------------------------------------------------------- conv


def conv_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    x, w = op.operands
    (_, _, *sizes), (o_total, cg, *k) = shape(x), shape(w)
    nd = len(sizes)
    lo, _ = split_padding(op.prop("padding"))  # type: ignore[attr-defined]
    geo = Geometry(sizes, shape(op.results[0])[2:], k, op.prop("stride"), lo,  # type: ignore[attr-defined]
                   op.prop("dilation"), ones_or(op.props(), "input_dilation", nd))  # type: ignore[attr-defined]
    per_group = o_total // op.prop("groups")  # type: ignore[attr-defined]
    t = compute_type(elem_type(x))
    zero = kb.const(0.0, t)
    group_base = kb.mul(kb.div(idx[1], per_group), cg)

    def body(ks):
        ch, offs = ks[0], list(ks[1:])
        xi, conds = geo.operand_index(kb, idx[2:], offs)
        xv = fill_or(kb, conds, lambda: kb.element(x, (idx[0], kb.add(group_base, ch), *xi)),
                     zero)
        wv = kb.element(w, (idx[1], ch, *offs))
        return kb.op(arith.MulfOp(xv, wv))

    (value,) = kb.reduce("add", [cg, *k], zero, body, idx)
    return value


# ---------------------------------------------------------------- reduce_window


def reduce_window_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    x = op.operands[0]
    geo = Geometry.of_window_op(op)
    element = elem_type(x)
    t = compute_type(element)
    is_max = op.prop("kind") == "max"  # type: ignore[attr-defined]
    fill_value = _extreme(element, False) if is_max else 0
    fill = kb.number(fill_value, t)
    moving = geo.moving()

    def body(ks):
        return windowed(kb, x, geo, idx, geo.offsets(kb, ks), fill)

    if not moving:
        return body(())
    sizes = [geo.window[d] for d in moving]
    if math.prod(sizes) <= UNROLL_WINDOW and geo.unpadded():
        # a chain of max/add ops: gcc vectorizes it across neighbouring windows, where a
        # 2x2 `loop.reduce` is a tiny simd reduction per window (max_pool2d(x, 2) of
        # [32, 8, 28, 28], 1 thread: 0.20 -> 0.04 ms). With padding every position
        # needs a bounds check and the windows' reduction lanes win (max_pool2d(x, 3,
        # 2, 1): 0.47 ms, unrolled 1.07 ms).
        values = [body([kb.index(k) for k in ks])
                  for ks in itertools.product(*map(range, sizes))]
        combine = _max_op(t, element) if is_max else \
            (arith.AddiOp if isinstance(t, IntegerType) else arith.AddfOp)
        value = values[0]
        for v in values[1:]:
            value = kb.op(combine(value, v))
        return value
    (value,) = kb.reduce("max" if is_max else "add", sizes, fill, body, idx)
    return value


def _max_op(t, element) -> type:
    """NaN-propagating float max (as `loop.reduce` "max"), or the integer max."""
    if not isinstance(t, IntegerType):
        return arith.MaximumfOp
    return arith.MaxUIOp if is_unsigned(element) else arith.MaxSIOp


RULES: dict[type, Callable] = {
    contract.ConvOp: conv_rule,
    window.ReduceWindowOp: reduce_window_rule,
}
REDUCING: set[type] = set(RULES)
