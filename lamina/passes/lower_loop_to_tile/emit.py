"""A small builder for tile IR: appends ops to a block and keeps block shapes consistent.

Every helper takes scalars or blocks; a scalar meeting a block is splatted first,
so callers never think about broadcasting. Indices (`index` at the loop level)
are `i32` here, as in Triton.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import (
    AnyFloat,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    i32,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from lamina.dialects import tile
from lamina.dialects.tile import block_of, element_of, shape_of


def scalar_type(t: Attribute) -> Attribute:
    """The tile-level type of a loop-level scalar type: index becomes i32."""
    return i32 if isinstance(t, IndexType) else t


def is_float(t: Attribute) -> bool:
    return isinstance(element_of(t), AnyFloat)


def next_pow2(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(n, 1))))


class Emitter:
    """Appends tile ops at the end of `self.block` (switched when entering a loop body)."""

    def __init__(self, block: Block):
        self.block = block

    def add(self, op: Operation) -> SSAValue:
        self.block.add_op(op)
        return op.results[0] if op.results else None  # type: ignore[return-value]

    # -------------------------------------------------------------- values
    def const(self, value: float | int, t: Attribute) -> SSAValue:
        t = scalar_type(t)
        if isinstance(t, AnyFloat):
            attr: Attribute = FloatAttr(float(value), t)
        else:
            assert isinstance(t, IntegerType)
            if t.width.data == 1:
                value = int(bool(value))
            attr = IntegerAttr(int(value), t)
        return self.add(arith.ConstantOp(attr, t))

    def splat(self, v: SSAValue, shape: Sequence[int]) -> SSAValue:
        if shape_of(v.type) == tuple(shape) or not shape:
            return v
        assert not shape_of(v.type), f"cannot splat a block {v.type} to {shape}"
        return self.add(tile.SplatOp(v, shape))

    def common(self, *values: SSAValue) -> list[SSAValue]:
        """The values broadcast to the largest shape among them: scalars are splatted,
        a block whose shape ends the target's gains leading dims ((P,) -> (R, P))."""
        shape = max((shape_of(v.type) for v in values), key=len)
        return [self.to_shape(v, shape) for v in values]

    def to_shape(self, v: SSAValue, shape: tuple[int, ...]) -> SSAValue:
        have = shape_of(v.type)
        if have == shape or not have:
            return self.splat(v, shape)
        assert shape[len(shape) - len(have):] == have, f"cannot broadcast {have} to {shape}"
        for _ in range(len(shape) - len(have)):
            v = self.add(tile.ExpandDimsOp(v, 0))
        return self.add(tile.BroadcastOp(v, shape))

    def arange(self, n: int) -> SSAValue:
        return self.add(tile.ArangeOp(0, n))

    # -------------------------------------------------------------- compute
    def op(self, cls: type[Operation], *operands: SSAValue, result_elem: Attribute | None = None,
           properties: dict | None = None) -> SSAValue:
        """A generic elementwise arith/math op on broadcast operands."""
        ops = self.common(*operands)
        elem = result_elem or element_of(ops[0].type)
        return self.add(cls.create(operands=ops, result_types=[block_of(shape_of(ops[0].type),
                                                                       elem)],
                                   properties=dict(properties or {})))

    def binary(self, cls: type[Operation], a: SSAValue, b: SSAValue | int) -> SSAValue:
        if isinstance(b, int):
            b = self.const(b, element_of(a.type))
        return self.op(cls, a, b)

    def cmp(self, predicate: str, a: SSAValue, b: SSAValue | int) -> SSAValue:
        if isinstance(b, int):
            b = self.const(b, element_of(a.type))
        a, b = self.common(a, b)
        return self.add(tile.CmpOp(predicate, a, b))

    def where(self, c: SSAValue, a: SSAValue, b: SSAValue) -> SSAValue:
        c, a, b = self.common(c, a, b)
        return self.add(tile.WhereOp(c, a, b))

    def cast(self, v: SSAValue, elem: Attribute, kind: str = "signed") -> SSAValue:
        if element_of(v.type) == elem:
            return v
        return self.add(tile.CastOp(v, elem, kind))

    def logical_and(self, a: SSAValue | None, b: SSAValue | None) -> SSAValue | None:
        if a is None or b is None:
            return a if b is None else b
        return self.op(arith.AndIOp, a, b)

    # -------------------------------------------------------------- indices
    def linear(self, indices: Sequence[SSAValue], shape: Sequence[int]) -> SSAValue:
        """Row-major offset of `indices` into a contiguous buffer of `shape`."""
        if not indices:
            return self.const(0, i32)
        offset = None
        stride = 1
        for idx, size in reversed(list(zip(indices, shape, strict=True))):
            term = idx if stride == 1 else self.binary(arith.MuliOp, idx, stride)
            offset = term if offset is None else self.binary(arith.AddiOp, term, offset)
            stride *= int(size)
        assert offset is not None
        return offset

    def delinear(self, flat: SSAValue, shape: Sequence[int]) -> list[SSAValue]:
        """Indices of a row-major linear position `flat` in an iteration space."""
        out: list[SSAValue] = []
        strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
        for d, (size, stride) in enumerate(zip(shape, strides, strict=True)):
            v = flat if stride == 1 else self.binary(arith.DivSIOp, flat, stride)
            if d > 0:
                v = self.binary(arith.RemSIOp, v, int(size))
            out.append(v)
        return out

    # -------------------------------------------------------------- loops
    def for_loop(self, lb: int, ub: int, step: int,
                 carried: Sequence[SSAValue]) -> tuple[scf.ForOp, SSAValue]:
        """An `scf.for` over i32 with loop-carried values; returns the op and its counter."""
        body = Block(arg_types=[i32] + [v.type for v in carried])
        loop = scf.ForOp(self.const(lb, i32), self.const(ub, i32), self.const(step, i32),
                         list(carried), body)
        self.add(loop)
        return loop, body.args[0]

