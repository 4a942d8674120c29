"""Element rules of the indexing hl ops (slice, reverse, pad, concat, gather) and random.

They are index mappings with bounds checks. Where an output element may fall
outside its operand (padding, the other parts of a concat), the operand is read
at a CLAMPED index -- always in bounds, so any operand can be fused -- and an
`arith.select` picks the fill value. Gather indices are values known only at run
time: `check.index` clamps them and makes the program raise IndexOutOfRangeError
after the call (as the interpreter does at once), so compiled code never faults and
never returns a clamped row silently.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr, f32, i1, i32, i64
from xdsl.ir import Block, Operation, SSAValue

from lamina.dialects import check
from lamina.dialects.hl import indexing as ix
from lamina.dialects.hl import random as rnd
from lamina.dialects.hl.elementwise import convert
from lamina.dialects.hl.shape import ReshapeOp, TransposeOp
from lamina.passes.lower_hl_to_loop.kernel import KernelBuilder, elem_type, shape
from lamina.passes.lower_hl_to_loop.rules import reshape_indices, scalar_const

# ---------------------------------------------------------------- shared helpers


def all_of(kb: KernelBuilder, conds: Sequence[SSAValue]) -> SSAValue | None:
    out = None
    for c in conds:
        out = c if out is None else kb.op(arith.AndIOp(out, c))
    return out


def clamp(kb: KernelBuilder, i: SSAValue, lo: int, hi: int) -> SSAValue:
    """`i` limited to [lo, hi]; `i` itself where its range already lies inside (an
    im2col gather's `oh + kh` index: the clamp kept the load from vectorizing, 0.53 ms
    for the bench CNN's weight-gradient columns)."""
    known = value_range(i)
    if known is not None and lo <= known[0] and known[1] <= hi < check.MAY_BE_SYMBOLIC:
        return i
    i = kb.op(arith.MaxSIOp(i, kb.index(lo)))
    return kb.op(arith.MinSIOp(i, kb.index(hi)))


def checked(kb: KernelBuilder, i: SSAValue, op: Operation, axis: int, size: int) -> SSAValue:
    """`i`, an index read from a tensor, checked at run time against [0, size) and
    clamped (`check.index`): out of range, the program raises IndexOutOfRangeError
    naming `op` and the user's line; `i` itself where its range is known to fit."""
    known = value_range(i)
    if known is not None and 0 <= known[0] and known[1] < size < check.MAY_BE_SYMBOLIC:
        return i
    at = op.attributes.get(ix.LOCATION_ATTR)
    where = f", traced at {at.data}" if at is not None else ""  # type: ignore[attr-defined]
    what = f"dim {axis} of size {size} in {op.name}{where}"
    return kb.op(check.IndexOp(i, size, what))


_PASS_THROUGH = (arith.IndexCastOp, arith.ExtSIOp)


def _decided(cond: SSAValue, depth: int) -> bool | None:
    """The value of a signed comparison that the operands' ranges decide, else None."""
    owner = cond.owner
    if not isinstance(owner, arith.CmpiOp):
        return None
    a, b = (value_range(o, depth + 1) for o in owner.operands)
    if a is None or b is None:
        return None
    predicate = arith.CMPI_COMPARISON_OPERATIONS[owner.predicate.value.data]
    always = {"slt": a[1] < b[0], "sle": a[1] <= b[0], "sgt": a[0] > b[1], "sge": a[0] >= b[1]}
    never = {"slt": a[0] >= b[1], "sle": a[0] > b[1], "sgt": a[1] <= b[0], "sge": a[1] < b[0]}
    if predicate not in always:
        return None
    return True if always[predicate] else False if never[predicate] else None


def value_range(v: SSAValue, depth: int = 0) -> tuple[int, int] | None:
    """[lo, hi] of an integer value made of loop indices, constants, +, -, * by a
    constant, max and min; None when unknown."""
    owner = v.owner
    if depth > 16:
        return None
    if isinstance(owner, Block):
        loop_op = owner.parent_op()
        bounds = getattr(loop_op, "bound_values", None)
        if bounds is None or v.index >= len(bounds) or bounds[v.index] <= 0:  # type: ignore[attr-defined]
            return None
        return 0, bounds[v.index] - 1  # type: ignore[attr-defined]
    if isinstance(owner, check.IndexOp):
        return 0, owner.size_value - 1
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        c = owner.value.value.data
        return c, c
    if isinstance(owner, _PASS_THROUGH):
        return value_range(owner.operands[0], depth + 1)
    if isinstance(owner, arith.SelectOp):  # e.g. the wrap of negative indices
        decided = _decided(owner.cond, depth + 1)
        if decided is not None:
            return value_range(owner.lhs if decided else owner.rhs, depth + 1)
        a, b = (value_range(o, depth + 1) for o in (owner.lhs, owner.rhs))
        return None if a is None or b is None else (min(a[0], b[0]), max(a[1], b[1]))
    if not isinstance(owner, arith.AddiOp | arith.SubiOp | arith.MuliOp | arith.MaxSIOp |
                      arith.MinSIOp):
        return None
    a, b = (value_range(o, depth + 1) for o in owner.operands)
    if a is None or b is None:
        return None
    if isinstance(owner, arith.AddiOp):
        return a[0] + b[0], a[1] + b[1]
    if isinstance(owner, arith.SubiOp):
        return a[0] - b[1], a[1] - b[0]
    if isinstance(owner, arith.MaxSIOp):
        return max(a[0], b[0]), max(a[1], b[1])
    if isinstance(owner, arith.MinSIOp):
        return min(a[0], b[0]), min(a[1], b[1])
    products = [x * y for x in a for y in b]
    return min(products), max(products)


def dilated_coord(kb: KernelBuilder, p: SSAValue, pmin: int, pmax: int, n: int,
                  every: int) -> tuple[SSAValue, list[SSAValue]]:
    """Operand index `q` for coordinate `p` (known to lie in [pmin, pmax]) of a view of an
    n-element dim whose elements sit at 0, every, 2*every, ...; and the conditions
    (i1) under which `p` hits an element. `q` is always in bounds."""
    if n == 0:
        return kb.index(0), [kb.const(0, i1)]
    last = (n - 1) * every
    conds: list[SSAValue] = []
    if pmin < 0:
        conds.append(kb.op(arith.CmpiOp(p, kb.index(0), "sge")))
        p = kb.op(arith.MaxSIOp(p, kb.index(0)))
    if pmax > last:
        conds.append(kb.op(arith.CmpiOp(p, kb.index(last), "sle")))
        p = kb.op(arith.MinSIOp(p, kb.index(last)))
    if every > 1:
        conds.append(kb.op(arith.CmpiOp(kb.rem(p, every), kb.index(0), "eq")))
        p = kb.div(p, every)
    return p, conds


def offset(kb: KernelBuilder, i: SSAValue, c: int) -> SSAValue:
    return kb.add(i, kb.index(c)) if c else i


def fill_or(kb: KernelBuilder, conds: list[SSAValue], value: Callable[[], SSAValue],
            fill: SSAValue) -> SSAValue:
    v = value()
    cond = all_of(kb, conds)
    return v if cond is None else kb.op(arith.SelectOp(cond, v, fill))


# ---------------------------------------------------------------- index maps


def slice_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    start, step = op.prop("start"), op.prop("step")  # type: ignore[attr-defined]
    inner = tuple(offset(kb, kb.mul(i, s), b) for i, b, s in zip(idx, start, step, strict=True))
    return kb.element(op.operands[0], inner)


def reverse_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    dims, src = op.prop("dims"), op.operands[0]  # type: ignore[attr-defined]
    n = shape(src)
    inner = tuple(kb.sub(kb.index(n[d] - 1), i) if d in dims else i for d, i in enumerate(idx))
    return kb.element(src, inner)


def _in_memory(kb: KernelBuilder, v: SSAValue, idx) -> tuple[SSAValue, tuple] | None:
    """(buffer, index) holding element `idx` of `v` when `v` is a buffer or transposes and
    reshapes of one (read in place), else None."""
    at = list(idx)
    while not (v in kb.buffers and v not in kb.recompute):
        op = v.owner
        if isinstance(op, TransposeOp):
            inner: list = [None] * len(at)
            for i, p in enumerate(op.prop("perm")):
                inner[p] = at[i]  # result dim i is operand dim perm[i]
            at = inner
        elif isinstance(op, ReshapeOp):  # out-of-range indices map anywhere: masked off
            at = list(reshape_indices(kb, shape(op.operands[0]), shape(v), at))
        else:
            return None
        v = op.operands[0]
    return kb.buffers[v], tuple(at)


def _masked_pad(kb: KernelBuilder, op: Operation, idx) -> SSAValue | None:
    """A pad without interior of a buffer: a masked load at the unclamped index. It stays
    contiguous along the innermost dim, so gcc vectorizes it as a masked vector load
    where a clamped index is a gather (bench CNN im2col of conv 2, standalone C, 1
    thread: 0.34 -> 0.20 ms)."""
    src = op.operands[0]
    low, interior = op.prop("low"), op.prop("interior")  # type: ignore[attr-defined]
    if any(interior):
        return None
    inner = tuple(offset(kb, i, -lo) for i, lo in zip(idx, low, strict=True))
    found = _in_memory(kb, src, inner)
    if found is None:
        return None
    conds: list[SSAValue] = []
    for q, n, lo, m in zip(inner, shape(src), low, shape(op.results[0]), strict=True):
        if lo > 0:
            conds.append(kb.op(arith.CmpiOp(q, kb.index(0), "sge")))
        if m - 1 - lo > n - 1:
            conds.append(kb.op(arith.CmpiOp(q, kb.index(n - 1), "sle")))
    mask = all_of(kb, conds)
    if mask is None:
        return kb.element(src, inner)
    v = kb.load(*found, elem_type(src), mask)
    value = op.prop("value")  # type: ignore[attr-defined]
    if value == 0 and math.copysign(1, value) > 0:
        return v  # a masked load gives +0
    fill = scalar_const(kb, op.prop("value"), elem_type(src))  # type: ignore[attr-defined]
    return kb.op(arith.SelectOp(mask, v, fill))


def pad_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    masked = _masked_pad(kb, op, idx)
    if masked is not None:
        return masked
    src = op.operands[0]
    low, interior = op.prop("low"), op.prop("interior")  # type: ignore[attr-defined]
    out = shape(op.results[0])
    conds: list[SSAValue] = []
    inner = []
    for i, n, lo, gap, m in zip(idx, shape(src), low, interior, out, strict=True):
        q, c = dilated_coord(kb, offset(kb, i, -lo), -lo, m - 1 - lo, n, gap + 1)
        inner.append(q)
        conds += c
    fill = scalar_const(kb, op.prop("value"), elem_type(src))  # type: ignore[attr-defined]
    return fill_or(kb, conds, lambda: kb.element(src, tuple(inner)), fill)


def concat_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    dim = op.prop("dim")  # type: ignore[attr-defined]
    starts = [0]
    for x in op.operands:
        starts.append(starts[-1] + shape(x)[dim])
    parts = [(x, s) for x, s in zip(op.operands, starts, strict=False) if shape(x)[dim] > 0]
    if not parts:  # an empty result: the body never runs, any value of the type does
        return scalar_const(kb, 0, elem_type(op.results[0]))
    value = None
    for x, s in reversed(parts):
        local = clamp(kb, offset(kb, idx[dim], -s), 0, shape(x)[dim] - 1) if len(parts) > 1 \
            else offset(kb, idx[dim], -s)
        v = kb.element(x, (*idx[:dim], local, *idx[dim + 1:]))
        if value is None:
            value = v
        else:
            end = kb.index(s + shape(x)[dim])
            value = kb.op(arith.SelectOp(kb.op(arith.CmpiOp(idx[dim], end, "slt")), v, value))
    assert value is not None
    return value


def gather_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    table, indices = op.operands
    axis, k = op.prop("axis"), len(shape(indices))  # type: ignore[attr-defined]
    t = kb.element(indices, idx[axis:axis + k])
    i = checked(kb, kb.op(arith.IndexCastOp(t, IndexType())), op, axis, shape(table)[axis])
    return kb.element(table, (*idx[:axis], i, *idx[axis + k:]))


# ---------------------------------------------------------------- random


def _fmix32(kb: KernelBuilder, x: SSAValue) -> SSAValue:
    def shr_xor(v: SSAValue, s: int) -> SSAValue:
        return kb.op(arith.XOrIOp(v, kb.op(arith.ShRUIOp(v, kb.const(s, i32)))))

    x = kb.op(arith.MuliOp(shr_xor(x, 16), kb.const(_s32(0x85EBCA6B), i32)))
    x = kb.op(arith.MuliOp(shr_xor(x, 13), kb.const(_s32(0xC2B2AE35), i32)))
    return shr_xor(x, 16)


def _s32(u: int) -> int:
    """A uint32 constant as the signless i32 attribute value (two's complement)."""
    return u - (1 << 32) if u >= 1 << 31 else u


def _bits(kb: KernelBuilder, counter: SSAValue, key: SSAValue) -> SSAValue:
    h = _fmix32(kb, kb.op(arith.XOrIOp(counter, key)))
    return _fmix32(kb, kb.op(arith.AddiOp(h, key)))


def _unit(kb: KernelBuilder, bits: SSAValue, m: int, plus_one: bool = False) -> SSAValue:
    """(bits >> (32 - m) [+ 1]) * 2**-m as f32."""
    top = kb.op(arith.ShRUIOp(bits, kb.const(32 - m, i32)))
    if plus_one:
        top = kb.op(arith.AddiOp(top, kb.const(1, i32)))
    as_float = kb.op(arith.UIToFPOp(top, f32))
    return kb.op(arith.MulfOp(as_float, kb.const(2.0 ** -m, f32)))


def random_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    from xdsl.dialects import math as xmath

    from lamina import dtypes

    seed = kb.element(op.operands[0], ())
    lo = kb.op(arith.TruncIOp(seed, i32))
    hi = kb.op(arith.TruncIOp(kb.op(arith.ShRUIOp(seed, kb.const(32, i64))), i32))
    key = _fmix32(kb, kb.op(arith.XOrIOp(
        lo, _fmix32(kb, kb.op(arith.XOrIOp(hi, kb.const(_s32(rnd.GOLDEN), i32)))))))
    out = shape(op.results[0])
    linear = kb.linearize(idx, out) if out else kb.index(0)
    counter = kb.op(arith.TruncIOp(kb.op(arith.IndexCastOp(linear, i64)), i32))
    element = elem_type(op.results[0])
    dist = op.prop("dist")  # type: ignore[attr-defined]
    if dist == "bits":
        return kb.op(arith.ExtUIOp(_bits(kb, counter, key), i64))
    if dist == "uniform":
        m = rnd.uniform_bits(dtypes.from_ir(element))
        return convert(kb, _unit(kb, _bits(kb, counter, key), m), f32, element)
    two = kb.op(arith.MuliOp(counter, kb.const(2, i32)))
    u1 = _unit(kb, _bits(kb, two, key), 24, plus_one=True)
    u2 = _unit(kb, _bits(kb, kb.op(arith.AddiOp(two, kb.const(1, i32))), key), 24)
    radius = kb.op(xmath.SqrtOp(kb.op(arith.MulfOp(kb.const(-2.0, f32),
                                                   kb.op(xmath.LogOp(u1))))))
    angle = kb.op(arith.MulfOp(kb.const(float(f32_round(2.0 * math.pi)), f32), u2))
    z = kb.op(arith.MulfOp(radius, kb.op(xmath.CosOp(angle))))
    return convert(kb, z, f32, element)


def f32_round(x: float) -> float:
    import numpy as np

    return float(np.float32(x))


RULES: dict[type, Callable] = {
    ix.SliceOp: slice_rule,
    ix.ReverseOp: reverse_rule,
    ix.PadOp: pad_rule,
    ix.ConcatOp: concat_rule,
    ix.GatherOp: gather_rule,
    rnd.RandomOp: random_rule,
}
