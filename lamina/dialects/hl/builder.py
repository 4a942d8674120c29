"""A value-level hl builder: what gradient rules and rewrites write hl with.

It plays the role `jax.lax` plays under `jax.numpy`: a `Value` wraps one SSA value
of tensor type and the `Builder` that places new ops; its operators and methods
emit exactly the hl op they name. There is no broadcasting and no type promotion:
operands of a binary op have one type, and a Python number stands for a splat of
the other operand's type. PyTorch's conveniences live in the frontend, on top.

    b = Builder.at_end(block)
    x, ct = b.wrap(arg0), b.wrap(arg1)
    dx = ct * (1.0 - x.tanh() * x.tanh())      # hl.tanh, hl.mul, hl.splat, hl.sub, ...

A gradient rule receives Values and returns Values (see `HlOp.vjp`), so the backward
program is ordinary hl built by the same code that verifies it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from lamina import dtypes
from lamina.dialects.hl import elementwise as ew
from lamina.dialects.hl import reduce as rd
from lamina.dialects.hl import shape as sh
from lamina.dialects.hl.base import HlOp, dtype_of, shape_of, tensor_type

Number = bool | int | float


class Builder:
    """Places each new op through `insert` (appending to a block, inserting before an
    op, or a frontend graph that also records the user's source line)."""

    def __init__(self, insert: Callable[[Operation], Any]):
        self._insert = insert

    @classmethod
    def at_end(cls, block: Block) -> Builder:
        return cls(block.add_op)

    @classmethod
    def before(cls, op: Operation) -> Builder:
        return cls(lambda new: Rewriter.insert_op(new, InsertPoint.before(op)))

    def wrap(self, value: SSAValue) -> Value:
        return Value(value, self)

    def emit(self, op_cls: type[HlOp], *operands: Value | SSAValue,
             result_type: TensorType | None = None, **props: Any) -> Value:
        """One op of `op_cls` on `operands`, its result type inferred (or checked)."""
        values = [o.ssa if isinstance(o, Value) else o for o in operands]
        op = op_cls.build(*values, result_type=result_type, **props)
        self._insert(op)
        return Value(op.results[0], self)

    def splat(self, value: Number, t: TensorType) -> Value:
        """A tensor of type `t` filled with `value` (converted to its dtype)."""
        dt = dtype_of(t)
        value = bool(value) if dt == dtypes.bool_ else (
            int(value) if dt.category == 1 else float(value))
        return self.emit(sh.SplatOp, result_type=t, value=value)

    def select(self, cond: Value, a: Value | Number, b: Value | Number) -> Value:
        """`cond ? a : b`; a number takes the type of the other branch."""
        like = a if isinstance(a, Value) else b
        assert isinstance(like, Value), "select needs at least one Value branch"
        return self.emit(ew.SelectOp, cond, like._operand(a), like._operand(b))


class Value:
    """An hl SSA value with operators that emit hl ops through its builder."""

    __slots__ = ("ssa", "builder")
    __array_priority__ = 1000  # `2.0 * value` reaches __rmul__, not numpy

    def __init__(self, ssa: SSAValue, builder: Builder):
        assert isinstance(ssa.type, TensorType), ssa.type
        self.ssa = ssa
        self.builder = builder

    # ---- metadata

    @property
    def type(self) -> TensorType:
        return self.ssa.type  # type: ignore[return-value]

    @property
    def shape(self) -> tuple[int, ...]:
        return shape_of(self.type)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> dtypes.DType:
        return dtype_of(self.type)

    def __repr__(self) -> str:
        return f"Value({self.type})"

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise TypeError("an hl Value has no truth value while the program is built")

    # ---- emitting

    def _emit(self, op_cls: type[HlOp], *operands: Value, **kw: Any) -> Value:
        return self.builder.emit(op_cls, *operands, **kw)

    def _operand(self, other: Value | Number) -> Value:
        return other if isinstance(other, Value) else self.builder.splat(other, self.type)

    def _binary(self, op_cls: type[HlOp], other: Value | Number, swap: bool = False) -> Value:
        other = self._operand(other)
        return self._emit(op_cls, other, self) if swap else self._emit(op_cls, self, other)

    # ---- arithmetic and comparisons (one hl op each)

    def __add__(self, o):
        return self._binary(ew.AddOp, o)

    def __radd__(self, o):
        return self._binary(ew.AddOp, o, swap=True)

    def __sub__(self, o):
        return self._binary(ew.SubOp, o)

    def __rsub__(self, o):
        return self._binary(ew.SubOp, o, swap=True)

    def __mul__(self, o):
        return self._binary(ew.MulOp, o)

    def __rmul__(self, o):
        return self._binary(ew.MulOp, o, swap=True)

    def __truediv__(self, o):
        return self._binary(ew.DivOp, o)

    def __rtruediv__(self, o):
        return self._binary(ew.DivOp, o, swap=True)

    def __pow__(self, o):
        return self._binary(ew.PowOp, o)

    def __rpow__(self, o):
        return self._binary(ew.PowOp, o, swap=True)

    def __neg__(self):
        return self._emit(ew.NegOp, self)

    def __eq__(self, o):  # type: ignore[override]
        return self._binary(ew.EqOp, o)

    def __ne__(self, o):  # type: ignore[override]
        return self._binary(ew.NeOp, o)

    def __lt__(self, o):
        return self._binary(ew.LtOp, o)

    def __le__(self, o):
        return self._binary(ew.LeOp, o)

    def __gt__(self, o):
        return self._binary(ew.GtOp, o)

    def __ge__(self, o):
        return self._binary(ew.GeOp, o)

    def maximum(self, o: Value | Number) -> Value:
        return self._binary(ew.MaxOp, o)

    def minimum(self, o: Value | Number) -> Value:
        return self._binary(ew.MinOp, o)

    # ---- unary

    def abs(self) -> Value:
        return self._emit(ew.AbsOp, self)

    def sign(self) -> Value:
        return self._emit(ew.SignOp, self)

    def exp(self) -> Value:
        return self._emit(ew.ExpOp, self)

    def log(self) -> Value:
        return self._emit(ew.LogOp, self)

    def sqrt(self) -> Value:
        return self._emit(ew.SqrtOp, self)

    def sin(self) -> Value:
        return self._emit(ew.SinOp, self)

    def cos(self) -> Value:
        return self._emit(ew.CosOp, self)

    def tanh(self) -> Value:
        return self._emit(ew.TanhOp, self)

    def sinh(self) -> Value:
        return self._emit(ew.SinhOp, self)

    def cosh(self) -> Value:
        return self._emit(ew.CoshOp, self)

    def floor(self) -> Value:
        return self._emit(ew.FloorOp, self)

    def trunc(self) -> Value:
        return self._emit(ew.TruncOp, self)

    def to(self, dtype: dtypes.DType) -> Value:
        """`hl.cast` to `dtype` (no op when the dtype is already that)."""
        if dtype == self.dtype:
            return self
        return self._emit(ew.CastOp, self, result_type=tensor_type(dtype.ir_type, self.shape))

    def zeros_like(self) -> Value:
        return self.builder.splat(0, self.type)

    def ones_like(self) -> Value:
        return self.builder.splat(1, self.type)

    # ---- shapes (no op where nothing changes)

    def reshape(self, shape: Sequence[int]) -> Value:
        shape = tuple(int(n) for n in shape)
        if shape == self.shape:
            return self
        return self._emit(sh.ReshapeOp, self,
                          result_type=tensor_type(self.type.get_element_type(), shape))

    def permute(self, *perm: int) -> Value:
        perm = tuple(p % max(self.ndim, 1) for p in perm)
        if perm == tuple(range(self.ndim)):
            return self
        return self._emit(sh.TransposeOp, self, perm=perm)

    def transpose(self, dim0: int, dim1: int) -> Value:
        perm = list(range(self.ndim))
        d0, d1 = dim0 % self.ndim, dim1 % self.ndim
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return self.permute(*perm)

    def broadcast_in_dim(self, shape: Sequence[int], dims: Sequence[int]) -> Value:
        """Operand dim i becomes result dim `dims[i]` (hl.broadcast_in_dim)."""
        shape = tuple(shape)
        if shape == self.shape:
            return self
        return self._emit(sh.BroadcastInDimOp, self, dims=tuple(dims),
                          result_type=tensor_type(self.type.get_element_type(), shape))

    def broadcast_to(self, shape: Sequence[int]) -> Value:
        """Numpy-style: the trailing dims of `shape` are this value's."""
        offset = len(shape) - self.ndim
        return self.broadcast_in_dim(shape, range(offset, len(shape)))

    def sum(self, dims: Sequence[int]) -> Value:
        """`hl.reduce_sum` over `dims` (the dims disappear); no op for no dims."""
        dims = tuple(sorted(dims))
        return self._emit(rd.ReduceSumOp, self, dims=dims) if dims else self

    def unbroadcast(self, shape: Sequence[int], dims: Sequence[int]) -> Value:
        """The transpose of `broadcast_in_dim(shape -> self.shape, dims)`: sum back down
        to `shape`. The one place un-broadcasting lives: summed are the result dims no
        operand dim maps to, and the operand dims of size 1 that were stretched."""
        dims = tuple(dims)
        summed = [d for d in range(self.ndim) if d not in dims]
        summed += [d for i, d in enumerate(dims) if shape[i] == 1 and self.shape[d] != 1]
        return self.sum(summed).reshape(shape)
