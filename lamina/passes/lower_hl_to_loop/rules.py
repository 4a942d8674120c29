"""Element rules of the shape, creation and reduction hl ops.

A shape op is an index mapping (broadcast drops or zeroes indices, transpose
permutes them, reshape re-linearizes them); a reduction emits a `loop.reduce`
whose body is the operand's element at the reduction point.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType, i1, i64
from xdsl.ir import Attribute, Operation, SSAValue

from lamina.dialects.hl import reduce as red
from lamina.dialects.hl import shape as sh
from lamina.dialects.hl.base import dense_to_numpy
from lamina.dialects.hl.elementwise import convert
from lamina.dialects.scalar import compute_type, is_unsigned
from lamina.passes.lower_hl_to_loop.kernel import (
    KernelBuilder,
    elem_type,
    shape,
)

# ---------------------------------------------------------------- shape ops


def broadcast_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    src = op.operands[0]
    src_shape = shape(src)
    inner = tuple(kb.index(0) if src_shape[i] == 1 else idx[d]
                  for i, d in enumerate(op.prop("dims")))  # type: ignore[attr-defined]
    return kb.element(src, inner)


def transpose_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    perm = op.prop("perm")  # type: ignore[attr-defined]
    inner = [None] * len(perm)
    for i, p in enumerate(perm):
        inner[p] = idx[i]
    return kb.element(op.operands[0], tuple(inner))  # type: ignore[arg-type]


def reshape_indices(kb: KernelBuilder, src_shape, dst_shape, idx) -> tuple[SSAValue, ...]:
    """Indices into `src_shape` of element `idx` of the same data seen as `dst_shape`.

    The dims are cut into the smallest groups whose sizes match on both sides
    (`[32, 8, 784] -> [32, 8, 28, 28]`: 32 | 8 | 784 = 28 x 28), and each group is
    mapped on its own: a merge is affine (`h * 28 + w`), only a split needs a
    division, and only by its own group's sizes. Linearizing the whole index and
    delinearizing it again would put a 64-bit division per source dim in every
    element (measured: 4x slower max-pool gradients in the bench CNN)."""
    if 0 in src_shape or 0 in dst_shape:  # no elements: any in-range map will do
        return kb.delinearize(kb.linearize(idx, dst_shape), src_shape)
    idx = list(idx)
    out: list[SSAValue] = []
    s = d = 0
    while s < len(src_shape) or d < len(dst_shape):
        src_group, dst_group = [s], [d]
        src_size = src_shape[s] if s < len(src_shape) else 1
        dst_size = dst_shape[d] if d < len(dst_shape) else 1
        s, d = s + 1, d + 1
        while src_size != dst_size:
            if src_size < dst_size:
                src_group.append(s)
                src_size *= src_shape[s]
                s += 1
            else:
                dst_group.append(d)
                dst_size *= dst_shape[d]
                d += 1
        dst_group = [i for i in dst_group if i < len(dst_shape) and dst_shape[i] != 1]
        src_group = [i for i in src_group if i < len(src_shape)]
        moving = [src_shape[i] for i in src_group if src_shape[i] != 1]
        flat = kb.linearize([idx[i] for i in dst_group], [dst_shape[i] for i in dst_group])
        parts = iter(kb.delinearize(flat, moving) if moving else [])
        out += [next(parts) if src_shape[i] != 1 else kb.index(0) for i in src_group]
    return tuple(out)


def reshape_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    src = op.operands[0]
    return kb.element(src, reshape_indices(kb, shape(src), shape(op.results[0]), idx))


# ---------------------------------------------------------------- creation ops


def scalar_const(kb: KernelBuilder, value, element: Attribute) -> SSAValue:
    t = compute_type(element)
    if isinstance(t, IntegerType):
        return kb.const(int(value), t)
    return kb.const(float(value), t)


def splat_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    return scalar_const(kb, op.prop("value"), elem_type(op.results[0]))  # type: ignore[attr-defined]


def constant_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    """Uniform constants become scalars; others are read from their global buffer."""
    values = dense_to_numpy(op.properties["value"])  # type: ignore[arg-type]
    flat = values.reshape(-1)
    if flat.size and (flat == flat[0]).all():
        return scalar_const(kb, flat[0].item(), elem_type(op.results[0]))
    raise AssertionError("non-uniform constants are materialized by the planner")


def iota_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    i = idx[op.prop("dim")]  # type: ignore[attr-defined]
    element = elem_type(op.results[0])
    as_int = kb.op(arith.IndexCastOp(i, i64))
    return convert(kb, as_int, i64, element)


# ---------------------------------------------------------------- reductions


def _extreme(element: Attribute, largest: bool) -> float | int:
    if element == i1:  # bools reduce as 0/1 (in a widened register)
        return 1 if largest else 0
    t = compute_type(element)
    if not isinstance(t, IntegerType):
        return math.inf if largest else -math.inf
    bits = t.width.data
    if is_unsigned(element):
        return (1 << bits) - 1 if largest else 0
    return (1 << (bits - 1)) - 1 if largest else -(1 << (bits - 1))


def _widen(element: Attribute) -> Attribute | None:
    """Register type a reduction runs in when the element's own one cannot: bools become
    i16 and unsigned types narrower than 64 bits the next wider signed type, so that
    signed max/min and add/mul stay exact (uint64 flips its sign bit instead: `_flips`)."""
    if element == i1:
        return IntegerType(16)
    if is_unsigned(element) and element.width.data < 64:  # type: ignore[attr-defined]
        return IntegerType(2 * element.width.data)  # type: ignore[attr-defined]
    return None


def _flips(element: Attribute, kind: str) -> bool:
    """uint64 max/min/argmax/argmin compare signed with the sign bit flipped (u ^ 2^63
    orders as a signed int the way u does as an unsigned one)."""
    return is_unsigned(element) and element.width.data == 64 and kind not in ("add", "mul")  # type: ignore[attr-defined]


def _reduce(kb: KernelBuilder, kind: str, src: SSAValue, dims, idx, element: Attribute):
    """loop.reduce over `dims` of `src`; `idx` indexes the kept dims in order."""
    src_shape = shape(src)
    bounds = [src_shape[d] for d in dims]
    wide = _widen(element)
    flip = _flips(element, kind)
    as_signed = IntegerType(64) if flip else element
    init_value = {"add": 0, "mul": 1, "max": _extreme(as_signed, False),
                  "min": _extreme(as_signed, True), "argmax": _extreme(as_signed, False),
                  "argmin": _extreme(as_signed, True)}[kind]
    t = wide or compute_type(element)
    init = kb.number(init_value, t)

    def body(ks):
        full, kept, red_it = [], iter(idx), iter(ks)
        for d in range(len(src_shape)):
            full.append(next(red_it) if d in dims else next(kept))
        v = kb.element(src, tuple(full))
        if wide is not None:
            v = kb.op(arith.ExtUIOp(v, wide))
        if flip:
            v = kb.op(arith.XOrIOp(v, kb.number(-(1 << 63), t)))
        return v

    results = kb.reduce(kind, bounds, init, body, idx)
    if flip and kind in ("max", "min"):
        results = (kb.op(arith.XOrIOp(results[0], kb.number(-(1 << 63), t))), *results[1:])
    return results, wide


def reduce_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    element = elem_type(op.operands[0])
    kind = {red.ReduceSumOp: "add", red.ReduceProdOp: "mul", red.ReduceMaxOp: "max",
            red.ReduceMinOp: "min"}[type(op)]
    (value,), wide = _reduce(kb, kind, op.operands[0], tuple(op.prop("dims")), idx, element)  # type: ignore[attr-defined]
    if wide is not None:
        if element == i1:  # any / all: the wide sum is a count
            return kb.op(arith.CmpiOp(value, kb.const(0, wide), "ne"))
        return kb.op(arith.TruncIOp(value, compute_type(element)))
    return value


def arg_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    element = elem_type(op.operands[0])
    kind = "argmax" if isinstance(op, red.ArgMaxOp) else "argmin"
    (_, position), _ = _reduce(kb, kind, op.operands[0], (op.prop("dim"),), idx, element)  # type: ignore[attr-defined]
    return position


RULES: dict[type, Callable] = {
    sh.BroadcastInDimOp: broadcast_rule,
    sh.TransposeOp: transpose_rule,
    sh.ReshapeOp: reshape_rule,
    sh.SplatOp: splat_rule,
    sh.ConstantOp: constant_rule,
    sh.IotaOp: iota_rule,
    red.ReduceSumOp: reduce_rule,
    red.ReduceProdOp: reduce_rule,
    red.ReduceMaxOp: reduce_rule,
    red.ReduceMinOp: reduce_rule,
    red.ArgMaxOp: arg_rule,
    red.ArgMinOp: arg_rule,
}
REDUCING: set[type] = {red.ReduceSumOp, red.ReduceProdOp, red.ReduceMaxOp, red.ReduceMinOp,
                       red.ArgMaxOp, red.ArgMinOp}
