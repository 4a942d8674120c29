"""Indexing and data-movement hl ops: slice, pad, concat, reverse, gather, scatter_add,
scatter.

Linear ops state their transpose as their gradient rule: the transpose of a strided
slice is a pad with interior padding, the transpose of concat is slices, the
transpose of gather is scatter_add (and the other way round), reverse is its own.

Out-of-range gather/scatter indices: the interpreter (the spec) raises an
`IndexOutOfRangeError` naming the op, the types, the offending index and the user's
line (recorded at build: `lamina.at`), as torch raises IndexError; compiled
backends check each index in the kernel (`check.index`, see lamina/dialects/check.py)
and raise the same error after the call.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerAttr, StringAttr, TensorType, i64
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import Pure

from lamina import dtypes
from lamina.dialects import check
from lamina.dialects.hl.base import (
    HlOp,
    dtype_of,
    element_of,
    fmt_types,
    int_prop,
    ints_prop,
    require,
    require_dims,
    shape_of,
)
from lamina.dialects.hl.elementwise.unary import ElementwiseOp
from lamina.dialects.hl.shape import IotaOp
from lamina.errors import DTypeError, LaminaError

LOCATION_ATTR = "lamina.at"  # the user's file:line, recorded at build (RECORDS_LOCATION)


class IndexOutOfRangeError(LaminaError, IndexError, RuntimeError):
    """An index outside its dimension (raised by the interpreter and the frontend; torch
    raises IndexError for `x[i]` and RuntimeError for gather/scatter: this is both)."""


def _check_rank(name: str, values: tuple[int, ...], rank: int) -> None:
    require(len(values) == rank, f"{name} {list(values)} must have one entry per dim "
            f"(rank {rank})")


def _slice_len(start: int, stop: int, step: int) -> int:
    return max(0, -(-(stop - start) // step))


# ---------------------------------------------------------------- slice, pad


@irdl_op_definition
class SliceOp(HlOp):
    """Strided slice: result dim i takes elements start[i], start[i]+step[i], ... < stop[i].
    `%r = hl.slice %x start=[0, 1] stop=[4, 8] step=[1, 2] : tensor<4x8xf32> -> tensor<4x4xf32>`"""

    name = "hl.slice"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    start = ints_prop()
    stop = ints_prop()
    step = ints_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        shape = shape_of(t)
        start, stop, step = props["start"], props["stop"], props["step"]
        for name, values in (("start", start), ("stop", stop), ("step", step)):
            _check_rank(name, values, len(shape))
        for i, n in enumerate(shape):
            require(step[i] > 0, f"step {list(step)} must be positive in every dim")
            require(0 <= start[i] <= stop[i] <= n, f"dim {i}: need 0 <= start <= stop <= "
                    f"{n}, got start={start[i]} stop={stop[i]}")
        return TensorType(element_of(t), [_slice_len(*s) for s in zip(start, stop, step, strict=True)])

    def reference(self, x):
        index = tuple(slice(*s) for s in zip(self.prop("start"), self.prop("stop"),
                                              self.prop("step"), strict=True))
        return x[index]

    def vjp(self, ct, out, x):
        low = self.prop("start")
        interior = tuple(s - 1 for s in self.prop("step"))
        high = tuple(n - lo - (m + max(m - 1, 0) * i)
                     for n, lo, m, i in zip(x.shape, low, ct.shape, interior, strict=True))
        return (ct.builder.emit(PadOp, ct, low=low, high=high, interior=interior, value=_zero(ct)),)


def _zero(t) -> bool | int | float:
    return False if t.dtype == dtypes.bool_ else (0.0 if t.dtype.is_floating_point else 0)


@irdl_op_definition
class PadOp(HlOp):
    """Pad with `value`: `low`/`high` elements before/after each dim (negative crops) and
    `interior` elements between neighbours.
    `%r = hl.pad %x low=[1, 0] high=[0, -1] interior=[0, 1] value=0.0 : tensor<2x3xf32> -> tensor<3x4xf32>`"""

    name = "hl.pad"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    low = ints_prop()
    high = ints_prop()
    interior = ints_prop()
    value = prop_def()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        shape = shape_of(t)
        low, high, interior = props["low"], props["high"], props["interior"]
        for name, values in (("low", low), ("high", high), ("interior", interior)):
            _check_rank(name, values, len(shape))
        require(all(i >= 0 for i in interior), f"interior {list(interior)} must be >= 0")
        require(isinstance(props["value"], bool | int | float), "value must be a number")
        out = [lo + hi + n + max(n - 1, 0) * i for n, lo, hi, i in zip(shape, low, high, interior, strict=True)]
        require(all(n >= 0 for n in out), f"padding {list(low)}/{list(high)} crops more than "
                f"the padded size of {list(shape)}")
        return TensorType(element_of(t), out)

    def reference(self, x):
        low, high, interior = self.prop("low"), self.prop("high"), self.prop("interior")
        full = [max(lo, 0) + max(hi, 0) + n + max(n - 1, 0) * i
                for n, lo, hi, i in zip(x.shape, low, high, interior, strict=True)]
        out = np.full(full, self.prop("value"), dtype=x.dtype)
        place = tuple(slice(max(lo, 0), max(lo, 0) + max(n - 1, 0) * (i + 1) + (n > 0), i + 1)
                      for n, lo, i in zip(x.shape, low, interior, strict=True))
        out[place] = x
        crop = tuple(slice(max(-lo, 0), f - max(-hi, 0)) for f, lo, hi in zip(full, low, high, strict=True))
        return out[crop]

    def vjp(self, ct, out, x):
        low, high = self.prop("low"), self.prop("high")
        if any(v < 0 for v in (*low, *high)):  # put back what was cropped, as zeros
            ct = ct.builder.emit(PadOp, ct, low=tuple(max(-v, 0) for v in low),
                       high=tuple(max(-v, 0) for v in high), interior=(0,) * ct.ndim,
                       value=_zero(ct))
        start = tuple(max(v, 0) for v in low)
        step = tuple(i + 1 for i in self.prop("interior"))
        stop = tuple(s + max(n - 1, 0) * k + (n > 0) for s, n, k in zip(start, x.shape, step, strict=True))
        return (ct.builder.emit(SliceOp, ct, start=start, stop=stop, step=step),)


# ---------------------------------------------------------------- concat, reverse


@irdl_op_definition
class ConcatOp(HlOp):
    """Join tensors along `dim` (other dims equal).
    `%r = hl.concat %a, %b dim=1 : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>`"""

    name = "hl.concat"
    inputs = var_operand_def(TensorType)
    result = result_def(TensorType)
    dim = int_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        require(len(types) >= 1, "needs at least one operand")
        dim, first = props["dim"], shape_of(types[0])
        require(0 <= dim < len(first), f"dim {dim} out of range for rank {len(first)}")
        require(len({element_of(t) for t in types}) == 1,
                lambda: f"operands must have one element type, got {fmt_types(types)}",
                DTypeError)
        for t in types:
            s = shape_of(t)
            require(len(s) == len(first) and all(a == b for i, (a, b) in
                                                 enumerate(zip(s, first, strict=True)) if i != dim),
                    lambda: f"shapes must agree except in dim {dim}, got {fmt_types(types)}")
        out = list(first)
        out[dim] = sum(shape_of(t)[dim] for t in types)
        return TensorType(element_of(types[0]), out)

    def reference(self, *xs):
        return np.concatenate(xs, axis=self.prop("dim"))

    def vjp(self, ct, out, *xs):
        dim, offset, cts = self.prop("dim"), 0, []
        for x in xs:
            start = tuple(offset if d == dim else 0 for d in range(ct.ndim))
            stop = tuple(offset + x.shape[d] if d == dim else n for d, n in enumerate(ct.shape))
            cts.append(ct.builder.emit(SliceOp, ct, start=start, stop=stop, step=(1,) * ct.ndim))
            offset += x.shape[dim]
        return tuple(cts)


@irdl_op_definition
class ReverseOp(HlOp):
    """Reverse the order of elements along `dims` (torch.flip).
    `%r = hl.reverse %x dims=[1] : tensor<4x8xf32>`"""

    name = "hl.reverse"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    dims = ints_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        dims, rank = props["dims"], len(shape_of(t))
        require_dims(dims, rank)
        return t

    def reference(self, x):
        return np.flip(x, axis=self.prop("dims")) if self.prop("dims") else x

    def vjp(self, ct, out, x):
        return (ct.builder.emit(ReverseOp, ct, dims=self.prop("dims")),)


# ---------------------------------------------------------------- gather, scatter_add


def _check_indices(t: TensorType) -> None:
    require(dtype_of(t) in (dtypes.int32, dtypes.int64),
            lambda: f"indices must be int32 or int64, got {t}", DTypeError)


def _gathered_shape(table: tuple[int, ...], idx: tuple[int, ...], axis: int) -> list[int]:
    return [*table[:axis], *idx, *table[axis + 1:]]


@irdl_op_definition
class GatherOp(HlOp):
    """Take slices of `table` along `axis` at `indices` (index_select / embedding):
    result shape is table.shape[:axis] + indices.shape + table.shape[axis+1:].
    `%r = hl.gather %t, %i axis=0 : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<3x4xf32>`"""

    name = "hl.gather"
    RECORDS_LOCATION: ClassVar = True
    table = operand_def(TensorType)
    indices = operand_def(TensorType)
    result = result_def(TensorType)
    axis = int_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        table, idx = types
        shape, axis = shape_of(table), props["axis"]
        require(0 <= axis < len(shape), f"axis {axis} out of range for rank {len(shape)}")
        _check_indices(idx)
        return TensorType(element_of(table), _gathered_shape(shape, shape_of(idx), axis))

    def reference(self, table, idx):
        axis = self.prop("axis")
        _check_in_range(self, idx, table.shape[axis])
        return np.take(table, idx, axis=axis)

    def vjp(self, ct, out, table, idx):
        grad = ct.builder.emit(ScatterAddOp, idx, ct, result_type=table.type, axis=self.prop("axis"))
        return (grad, None)


@irdl_op_definition
class ScatterAddOp(HlOp):
    """The transpose of gather: a zero tensor of the result type into which the slices of
    `updates` are added at `indices` along `axis` (repeated indices accumulate).
    `%r = hl.scatter_add %i, %u axis=0 : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf32>`"""

    name = "hl.scatter_add"
    RECORDS_LOCATION: ClassVar = True
    indices = operand_def(TensorType)
    updates = operand_def(TensorType)
    result = result_def(TensorType)
    axis = int_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        idx, updates = types
        require(result_type is not None, "needs a result type")
        shape, axis = shape_of(result_type), props["axis"]
        require(0 <= axis < len(shape), f"axis {axis} out of range for rank {len(shape)}")
        _check_indices(idx)
        require(dtype_of(updates) != dtypes.bool_, "updates must not be bool", DTypeError)
        require(element_of(updates) == element_of(result_type),
                "updates and result must have one element type", DTypeError)
        want = _gathered_shape(shape, shape_of(idx), axis)
        require(list(shape_of(updates)) == want, f"updates of shape {list(shape_of(updates))} "
                f"do not fit a result of shape {list(shape)}: expected {want}")
        return result_type

    def reference(self, idx, updates):
        out, rows, idx_axis_first = _scatter_layout(self, idx, updates)
        np.add.at(rows, idx, idx_axis_first)
        return out

    def vjp(self, ct, out, idx, updates):
        return (None, ct.builder.emit(GatherOp, ct, idx, axis=self.prop("axis")))


@irdl_op_definition
class ScatterOp(HlOp):
    """scatter_add's twin that writes instead of adding: a zero tensor of the result
    type into which the slices of `updates` are written at `indices` along `axis`; a
    repeated index keeps the last of its updates, in row-major order of `indices` (what
    torch's index_put_ does on the CPU). The write half of `x[idx] = v`.
    `%r = hl.scatter %i, %u axis=0 : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf32>`"""

    name = "hl.scatter"
    RECORDS_LOCATION: ClassVar = True
    indices = operand_def(TensorType)
    updates = operand_def(TensorType)
    result = result_def(TensorType)
    axis = int_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        return ScatterAddOp.infer(types, props, result_type)

    def reference(self, idx, updates):
        out, rows, updates_axis_first = _scatter_layout(self, idx, updates)
        flat = idx.reshape(-1)
        updates_axis_first = updates_axis_first.reshape(flat.size, *rows.shape[1:])
        positions, first_from_end = np.unique(flat[::-1], return_index=True)
        rows[positions] = updates_axis_first[flat.size - 1 - first_from_end]
        return out

    def vjp(self, ct, out, idx, updates):
        # an update reaches the result only if it is the last one at its position: it
        # gets that position's cotangent, an overwritten one gets 0
        b, axis = ct.builder, self.prop("axis")
        itype = TensorType(i64, list(updates.shape))
        order, stride = None, 1  # each update's place in index order
        for d in reversed(range(axis, axis + idx.ndim)):
            term = b.emit(IotaOp, result_type=itype, dim=d) * stride
            order = term if order is None else order + term
            stride *= updates.shape[d]
        if order is None:
            order = b.splat(0, itype)
        last = b.emit(ScatterOp, idx, order, result_type=TensorType(i64, list(out.shape)),
                      axis=axis)
        won = (b.emit(GatherOp, last, idx, axis=axis) == order).to(ct.dtype)
        return (None, b.emit(GatherOp, ct, idx, axis=axis) * won)


@irdl_op_definition
class CheckIndexOp(ElementwiseOp):
    """The identity on an int64 tensor of indices into a dim of `size` elements, checked
    when the program runs: a value outside [0, size), other than `allow` (an
    ignore_index), raises IndexOutOfRangeError naming `opname` and the user's line
    (compiled code: `check.index`). For ops that select by comparing, not by reading at
    an index (one_hot, nll_loss), whose out-of-range indices would select nothing.
    `%r = hl.check_index %i opname="one_hot" size=5 : tensor<2xi64>`"""

    name = "hl.check_index"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    size = int_prop()
    opname = prop_def(StringAttr)
    allow = opt_prop_def(IntegerAttr)
    traits = traits_def(Pure())
    DIFFERENTIABLE: ClassVar = False
    RECORDS_LOCATION: ClassVar = True

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        require(element_of(t) == i64, lambda: f"needs an int64 tensor, got {t}", DTypeError)
        require(props["size"] > 0, f"size must be positive, got {props['size']}")
        return t

    def _what(self) -> str:
        at = self.attributes.get(LOCATION_ATTR)
        where = f", traced at {at.data}" if at is not None else ""  # type: ignore[attr-defined]
        return f"a dim of size {self.prop('size')} in {self.prop('opname')}{where}"

    def reference(self, x):
        bad = (x < 0) | (x >= self.prop("size"))
        if self.prop("allow") is not None:
            bad &= x != self.prop("allow")
        if bad.any():
            raise IndexOutOfRangeError(check.message(self._what(), int(x[bad].flat[0])))
        return x

    def scalar(self, s, x):
        t, size, allow = self.compute_type(), self.prop("size"), self.prop("allow")
        if allow is None:
            return s.op(check.IndexOp(x, size, self._what()))
        allowed = s.op(arith.CmpiOp(x, s.const(allow, t), "eq"))
        checked = s.op(check.IndexOp(s.op(arith.SelectOp(allowed, s.const(0, t), x)), size,
                                     self._what()))
        return s.op(arith.SelectOp(allowed, x, checked))


def _scatter_layout(op: HlOp, idx: np.ndarray, updates: np.ndarray) -> tuple:
    """For the references of scatter/scatter_add: the zero result, a view of it with
    `axis` first (rows to write), and the updates with the index dims first."""
    axis, k = op.prop("axis"), idx.ndim
    shape = shape_of(op.out.type)
    _check_in_range(op, idx, shape[axis])
    out = np.zeros(shape, dtype=updates.dtype)
    perm = [*range(axis, axis + k), *range(axis), *range(axis + k, updates.ndim)]
    return out, np.moveaxis(out, axis, 0), np.transpose(updates, perm)


def _check_in_range(op: HlOp, idx: np.ndarray, n: int) -> None:
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        value = int(idx[bad].reshape(-1)[0])
        at = op.attributes.get(LOCATION_ATTR)
        raise IndexOutOfRangeError(
            f"{op.name}: index {value} is out of range for axis {op.prop('axis')} of size {n} "
            f"(operand types: {fmt_types([o.type for o in op.operands])})"
            + (f"\n  at {at.data}" if at is not None else ""))


__all__ = ["CheckIndexOp", "ConcatOp", "GatherOp", "IndexOutOfRangeError", "PadOp", "ReverseOp", "ScatterAddOp",
           "ScatterOp", "SliceOp"]
