"""Element rules of the window ops: conv, reduce_window and the max-pool gradient pair.

Each is a direct loop nest: a `loop.reduce` over the window (conv: over input
channels and kernel positions) at every output point, reading the operand through
`dilated_coord` (padding, input dilation and cropping become bounds checks).
`select_and_scatter_add` is written as a gather, parallel over its result: an
operand position sums the source values of the windows that cover it AND selected
it (their first maximum), so no two kernel points write the same element.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.dialects import arith
from xdsl.dialects.builtin import i64
from xdsl.ir import Operation, SSAValue

from lamina.dialects.hl import contract, window
from lamina.dialects.hl.contract import ones_or, split_padding
from lamina.passes.lower_hl_to_loop.kernel import KernelBuilder, compute_type, elem_type, shape
from lamina.passes.lower_hl_to_loop.rules import _extreme
from lamina.passes.lower_hl_to_loop.rules_index import all_of, dilated_coord, fill_or, offset


class Geometry:
    """Per-dim window geometry of a window op or of conv's spatial dims."""

    def __init__(self, sizes, out, window, strides, lo, dilation, input_dilation):
        self.sizes, self.out, self.window = list(sizes), list(out), list(window)
        self.strides, self.lo = list(strides), list(lo)
        self.dilation, self.idil = list(dilation), list(input_dilation)

    @classmethod
    def of_window_op(cls, op: Operation) -> Geometry:
        g = op.geometry()  # type: ignore[attr-defined]
        x = op.operands[0]
        out = window.WindowOp.window_shape(x.type, op.props())  # type: ignore[arg-type, attr-defined]
        return cls(shape(x), out, g["window"], g["strides"], g["lo"], g["dilation"],
                   g["input_dilation"])

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
    (value,) = kb.reduce("max" if is_max else "add", [geo.window[d] for d in moving], fill,
                         body, idx)
    return value


# ---------------------------------------------------------------- max-pool gradient pair


def _first_max(kb: KernelBuilder, x: SSAValue, geo: Geometry, o) -> SSAValue:
    """Linear index (over the moving dims) of the first maximum of window `o` of x."""
    element = elem_type(x)
    t = compute_type(element)
    low = _extreme(element, False)
    fill = kb.number(low, t)
    moving = geo.moving()
    if not moving:
        return kb.const(0, i64)
    _, position = kb.reduce("argmax", [geo.window[d] for d in moving], fill,
                            lambda ks: windowed(kb, x, geo, o, geo.offsets(kb, ks), fill), o)
    return position


def select_and_gather_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    x, v = op.operands
    geo = Geometry.of_window_op(op)
    moving = geo.moving()
    linear = kb.op(arith.IndexCastOp(_first_max(kb, x, geo, idx), kb.index(0).type))
    w = kb.delinearize(linear, [geo.window[d] for d in moving]) if moving else ()
    offs = geo.offsets(kb, w)
    zero = kb.number(0, compute_type(elem_type(v)))
    return windowed(kb, v, geo, idx, offs, zero)


def select_and_scatter_add_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    x, src = op.operands
    geo = Geometry.of_window_op(op)
    moving = geo.moving()
    t = compute_type(elem_type(src))
    zero = kb.number(0, t)

    def contribution(ks) -> SSAValue:
        """What window offset `ks` (over the moving dims) adds to operand point idx."""
        offs = geo.offsets(kb, ks)
        o, conds = [], []
        for d, (q, wi) in enumerate(zip(idx, offs, strict=True)):
            # padded coordinate of q is lo + q*idil = o*stride + w*dilation
            p = kb.sub(offset(kb, kb.mul(q, geo.idil[d]), geo.lo[d]),
                       kb.mul(wi, geo.dilation[d]))
            pmin = geo.lo[d] - (geo.window[d] - 1) * geo.dilation[d]
            pmax = geo.lo[d] + (geo.sizes[d] - 1) * geo.idil[d]
            oi, c = dilated_coord(kb, p, pmin, pmax, geo.out[d], geo.strides[d])
            o.append(oi)
            conds += c
        linear = kb.linearize(ks, [geo.window[d] for d in moving]) if moving else kb.index(0)
        chosen = kb.op(arith.CmpiOp(_first_max(kb, x, geo, o),
                                    kb.op(arith.IndexCastOp(linear, i64)), "eq"))
        take = all_of(kb, [*conds, chosen])
        return kb.op(arith.SelectOp(take, kb.element(src, tuple(o)), zero))

    if not moving:
        return contribution(())
    (value,) = kb.reduce("add", [geo.window[d] for d in moving], zero, contribution, idx)
    return value


RULES: dict[type, Callable] = {
    contract.ConvOp: conv_rule,
    window.ReduceWindowOp: reduce_window_rule,
    window.SelectAndGatherOp: select_and_gather_rule,
    window.SelectAndScatterAddOp: select_and_scatter_add_rule,
}
REDUCING: set[type] = set(RULES)
