"""hl's canonicalization patterns: algebraic identities, constant folding and
shape-chain folding. xDSL's generic `canonicalize` pass finds them through
`HlOp.get_canonicalization_patterns`, as MLIR finds an op's patterns.

Every rewrite here is exact: it never changes a value a program computes, with
IEEE's rules: `x * 1 -> x` folds, `x * 0` does not (NaN and inf times 0 are NaN), and
on floats only the additions that keep a zero's sign fold: `x + (-0.0)` and `x - 0.0`
(`-0.0 + 0.0` is +0.0, as torch computes it, so `x + 0.0` stays). `stop_gradient` is *not* removed here: it matters
until autodiff has run (`strip-stop-gradient` removes it after).

Patterns are registered per op class with `@pattern(...)`; a pattern registered on
a base class (`UnaryOp`, `BinaryOp`) applies to every op derived from it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from xdsl.ir import SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from lamina import dtypes
from lamina.dialects import hl
from lamina.dialects.hl.base import HlOp, dtype_of, shape_of
from lamina.dialects.hl.elementwise import BinaryOp, CompareOp, UnaryOp

_PATTERNS: dict[type, list[RewritePattern]] = defaultdict(list)


def pattern(*op_classes: type):
    """Register a RewritePattern class for the given hl op classes (and their subclasses)."""

    def register(cls: type[RewritePattern]) -> type[RewritePattern]:
        for op_cls in op_classes:
            _PATTERNS[op_cls].append(cls())
        return cls

    return register


def patterns_for(op_cls: type) -> tuple[RewritePattern, ...]:
    """The patterns of `op_cls`, including those registered on its base classes."""
    found: list[RewritePattern] = []
    for base in op_cls.__mro__:
        for p in _PATTERNS.get(base, ()):
            if p not in found:
                found.append(p)
    return tuple(found)

# ---------------------------------------------------------------- helpers


def splat_value(value: SSAValue) -> Any:
    """The scalar a value is filled with, if it is made by `hl.splat`, else None."""
    owner = value.owner
    return owner.prop("value") if isinstance(owner, hl.SplatOp) else None


def _is(value: SSAValue, scalar: float) -> bool:
    v = splat_value(value)
    return v is not None and not isinstance(v, bool) and v == scalar


def _make_splat(like: SSAValue, value: Any) -> HlOp:
    dt = dtype_of(like.type)
    value = bool(value) if dt == dtypes.bool_ else (
        int(value) if dt.category == 1 else float(value))
    return hl.SplatOp.build(result_type=like.type, value=value)


# Folding in low-precision floats would compute in another precision than the backends.
_FOLDABLE = {dtypes.float32, dtypes.float64, dtypes.int64, dtypes.int32, dtypes.int16,
             dtypes.int8, dtypes.uint8, dtypes.bool_}

# ---------------------------------------------------------------- identities


@pattern(hl.ReshapeOp, hl.BroadcastInDimOp, hl.TransposeOp, hl.CastOp)
class RemoveIdentityShapeOp(RewritePattern):
    """reshape/broadcast/transpose/cast whose result type equals its operand's: the operand."""

    def match_and_rewrite(self, op, rewriter: PatternRewriter) -> None:
        if isinstance(op, hl.TransposeOp) and op.prop("perm") != tuple(range(len(op.prop("perm")))):
            return
        if op.operands[0].type == op.results[0].type:
            rewriter.replace(op, [], [op.operands[0]])


@pattern(hl.AddOp, hl.SubOp, hl.MulOp, hl.DivOp)
class FoldNeutralElement(RewritePattern):
    """x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1: x (on floats, the zero added must be
    -0.0 and the zero subtracted +0.0: -0.0 + 0.0 is +0.0)."""

    def match_and_rewrite(self, op: BinaryOp, rewriter: PatternRewriter) -> None:
        a, b = op.operands
        if dtype_of(a.type) == dtypes.bool_:
            return
        additive = isinstance(op, hl.AddOp | hl.SubOp)
        neutral = 0 if additive else 1
        commutes = isinstance(op, hl.AddOp | hl.MulOp)
        if _is(b, neutral) and self._keeps_zero_sign(op, b):
            rewriter.replace(op, [], [a])
        elif commutes and _is(a, neutral) and self._keeps_zero_sign(op, a):
            rewriter.replace(op, [], [b])

    @staticmethod
    def _keeps_zero_sign(op: BinaryOp, zero: SSAValue) -> bool:
        if not isinstance(op, hl.AddOp | hl.SubOp) or not dtype_of(zero.type).is_floating_point:
            return True
        negative = bool(np.signbit(splat_value(zero)))
        return negative if isinstance(op, hl.AddOp) else not negative


@pattern(hl.MulOp)
class FoldIntegerTimesZero(RewritePattern):
    """x * 0 on integers: 0 (on floats it does not fold: NaN * 0 is NaN)."""

    def match_and_rewrite(self, op: hl.MulOp, rewriter: PatternRewriter) -> None:
        if dtype_of(op.out.type).category != 1:
            return
        if _is(op.operands[0], 0) or _is(op.operands[1], 0):
            rewriter.replace(op, _make_splat(op.out, 0))


@pattern(hl.NegOp)
class FoldDoubleNeg(RewritePattern):
    """neg(neg(x)): x."""

    def match_and_rewrite(self, op: hl.NegOp, rewriter: PatternRewriter) -> None:
        inner = op.operands[0].owner
        if isinstance(inner, hl.NegOp):
            rewriter.replace(op, [], [inner.operands[0]])


@pattern(hl.SelectOp)
class FoldSelect(RewritePattern):
    """select(c, x, x): x; select(splat true/false, a, b): a or b."""

    def match_and_rewrite(self, op: hl.SelectOp, rewriter: PatternRewriter) -> None:
        c, a, b = op.operands
        if a is b:
            rewriter.replace(op, [], [a])
        elif (cond := splat_value(c)) is not None:
            rewriter.replace(op, [], [a if cond else b])


# ---------------------------------------------------------------- splat folding


@pattern(UnaryOp, BinaryOp, CompareOp, hl.SelectOp, hl.CastOp)
class FoldSplatOperands(RewritePattern):
    """An elementwise op whose operands are all splats is a splat: evaluate it once
    with the op's own numpy reference, in the op's own dtypes."""

    def match_and_rewrite(self, op: HlOp, rewriter: PatternRewriter) -> None:
        if isinstance(op, hl.StopGradientOp) or not op.operands:
            return
        values = [splat_value(v) for v in op.operands]
        if any(v is None for v in values):
            return
        types = [dtype_of(v.type) for v in [*op.operands, op.out]]
        if any(t not in _FOLDABLE for t in types):
            return
        if isinstance(op, hl.DivOp | hl.RemOp) and types[0].category != 2 and values[1] == 0:
            return  # integer division by zero: leave it to the backend to report/define
        if isinstance(op, hl.CastOp) and types[0].category == 2 and types[1].category == 1:
            info = np.iinfo(types[1].np_dtype)
            if not (np.isfinite(values[0]) and info.min <= values[0] <= info.max):
                return  # float -> int out of range (or NaN) has no defined value
        arrays = [np.array(v, dtype=t.np_dtype) for v, t in zip(values, types, strict=False)]
        with np.errstate(all="ignore"):
            result = np.asarray(op.reference(*arrays)).astype(types[-1].np_dtype)
        rewriter.replace(op, _make_splat(op.out, result.item()))


@pattern(hl.ReshapeOp, hl.BroadcastInDimOp, hl.TransposeOp)
class FoldShapeOfSplat(RewritePattern):
    """reshape/broadcast/transpose of a splat: a splat of the new shape."""

    def match_and_rewrite(self, op: HlOp, rewriter: PatternRewriter) -> None:
        value = splat_value(op.operands[0])
        if value is not None:
            rewriter.replace(op, hl.SplatOp.build(result_type=op.out.type, value=value))


# ---------------------------------------------------------------- chains of shape ops


@pattern(hl.ReshapeOp)
class FoldReshapeChain(RewritePattern):
    """reshape(reshape(x)): one reshape."""

    def match_and_rewrite(self, op: hl.ReshapeOp, rewriter: PatternRewriter) -> None:
        inner = op.operands[0].owner
        if isinstance(inner, hl.ReshapeOp):
            rewriter.replace(op, hl.ReshapeOp.build(inner.operands[0], result_type=op.out.type))


@pattern(hl.TransposeOp)
class FoldTransposeChain(RewritePattern):
    """transpose(transpose(x, p1), p2): transpose(x, p1[p2]) (nothing if that is the identity)."""

    def match_and_rewrite(self, op: hl.TransposeOp, rewriter: PatternRewriter) -> None:
        inner = op.operands[0].owner
        if not isinstance(inner, hl.TransposeOp):
            return
        p1, p2 = inner.prop("perm"), op.prop("perm")
        perm = tuple(p1[p] for p in p2)
        if perm == tuple(range(len(perm))):
            rewriter.replace(op, [], [inner.operands[0]])
        else:
            rewriter.replace(op, hl.TransposeOp.build(inner.operands[0], perm=perm))


@pattern(hl.BroadcastInDimOp)
class FoldBroadcastChain(RewritePattern):
    """broadcast(broadcast(x, d1), d2): broadcast(x, d2[d1])."""

    def match_and_rewrite(self, op: hl.BroadcastInDimOp, rewriter: PatternRewriter) -> None:
        inner = op.operands[0].owner
        if not isinstance(inner, hl.BroadcastInDimOp):
            return
        d1, d2 = inner.prop("dims"), op.prop("dims")
        rewriter.replace(op, hl.BroadcastInDimOp.build(
            inner.operands[0], result_type=op.out.type, dims=tuple(d2[d] for d in d1)))


def unit_dim_map(src: tuple[int, ...], dst: tuple[int, ...]) -> list[int] | None:
    """If reshaping `src` to `dst` only inserts or drops size-1 dims, the position in
    `dst` of each non-unit dim of `src` (unit dims of `src` map to -1); else None."""
    if [n for n in src if n != 1] != [n for n in dst if n != 1]:
        return None
    positions = [k for k, n in enumerate(dst) if n != 1]
    it = iter(positions)
    return [next(it) if n != 1 else -1 for n in src]


@pattern(hl.BroadcastInDimOp)
class FoldBroadcastOfUnitReshape(RewritePattern):
    """broadcast(reshape(x)) where the reshape only adds or drops size-1 dims:
    broadcast(x) directly (the reshape that a reduction's gradient or a scalar
    cotangent puts before its broadcast)."""

    def match_and_rewrite(self, op: hl.BroadcastInDimOp, rewriter: PatternRewriter) -> None:
        inner = op.operands[0].owner
        if not isinstance(inner, hl.ReshapeOp):
            return
        x = inner.operands[0]
        mapping = unit_dim_map(shape_of(x.type), shape_of(inner.out.type))
        if mapping is None or -1 in mapping:
            return  # x's own unit dims would need a place in the result: keep it simple
        dims = op.prop("dims")
        rewriter.replace(op, hl.BroadcastInDimOp.build(
            x, result_type=op.out.type, dims=tuple(dims[k] for k in mapping)))


@pattern(hl.TransposeOp)
class SinkUnitReshapeThroughTranspose(RewritePattern):
    """transpose(reshape(x)) where the reshape only inserts size-1 dims:
    reshape(transpose(x)). Size-1 dims do not change the element order, so the
    permutation of x's own dims is the one the transpose applies to them; the
    reshape then meets its neighbours (conv's gradient rules build such chains for
    groups, and with groups=1 they reduce to one transpose)."""

    def match_and_rewrite(self, op: hl.TransposeOp, rewriter: PatternRewriter) -> None:
        inner = op.operands[0].owner
        if not isinstance(inner, hl.ReshapeOp):
            return
        x = inner.operands[0]
        src, mid = shape_of(x.type), shape_of(inner.out.type)
        mapping = unit_dim_map(src, mid)
        if mapping is None or -1 in mapping or len(mid) <= len(src):
            return
        dim_of = {pos: i for i, pos in enumerate(mapping)}
        perm = tuple(dim_of[p] for p in op.prop("perm") if p in dim_of)
        moved = hl.TransposeOp.build(x, perm=perm)
        rewriter.replace(op, [moved, hl.ReshapeOp.build(moved.out, result_type=op.out.type)])


# ---------------------------------------------------------------- casts

_MANTISSA = {dtypes.float16: 11, dtypes.bfloat16: 8, dtypes.float32: 24, dtypes.float64: 53}
_MAX_EXP = {dtypes.float16: 16, dtypes.bfloat16: 128, dtypes.float32: 128, dtypes.float64: 1024}


def represents(wide: dtypes.DType, narrow: dtypes.DType) -> bool:
    """Whether every value of `narrow` is exactly a value of `wide`."""
    if narrow == dtypes.bool_ or wide == narrow:
        return True
    if wide == dtypes.bool_:
        return False
    if narrow.category == 1:
        unsigned = narrow == dtypes.uint8
        magnitude_bits = narrow.bits if unsigned else narrow.bits - 1
        if wide.category == 1:
            if wide == dtypes.uint8:
                return False
            return wide.bits - 1 >= magnitude_bits
        return _MANTISSA[wide] >= magnitude_bits
    if wide.category != 2:
        return False
    return _MANTISSA[wide] >= _MANTISSA[narrow] and _MAX_EXP[wide] >= _MAX_EXP[narrow]


@pattern(hl.CastOp)
class FoldCastChain(RewritePattern):
    """cast(cast(x: A -> B) -> C) where B holds every value of A exactly: cast(x -> C),
    or x itself when C is A (f32 -> f64 -> f32, i32 -> i64 -> i32)."""

    def match_and_rewrite(self, op: hl.CastOp, rewriter: PatternRewriter) -> None:
        inner = op.operands[0].owner
        if not isinstance(inner, hl.CastOp):
            return
        x = inner.operands[0]
        if not represents(dtype_of(inner.out.type), dtype_of(x.type)):
            return
        if x.type == op.out.type:
            rewriter.replace(op, [], [x])
        else:
            rewriter.replace(op, hl.CastOp.build(x, result_type=op.out.type))


@pattern(hl.ReduceSumOp, hl.ReduceMaxOp, hl.ReduceMinOp, hl.ReduceProdOp)
class FoldEmptyReduce(RewritePattern):
    """A reduction over no dims: its operand."""

    def match_and_rewrite(self, op: HlOp, rewriter: PatternRewriter) -> None:
        if not op.prop("dims") and op.operands[0].type == op.out.type:
            rewriter.replace(op, [], [op.operands[0]])


@pattern(hl.ReduceMaxOp, hl.ReduceMinOp)
class FoldExtremumOfSplat(RewritePattern):
    """max/min of a splat over any dims: the splat (exact, unlike a sum)."""

    def match_and_rewrite(self, op: HlOp, rewriter: PatternRewriter) -> None:
        value = splat_value(op.operands[0])
        if value is not None and all(shape_of(op.operands[0].type)):
            rewriter.replace(op, hl.SplatOp.build(result_type=op.out.type, value=value))
