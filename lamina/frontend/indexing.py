"""Indexing and data movement with PyTorch semantics: `x[...]`, `x[...] = v`, `lm.cat`,
`lm.stack`, `lm.split`, `lm.gather`, `lm.pad`, `lm.flip`, `lm.one_hot`, `lm.tril`, ...

Everything lowers to a few hl ops: basic indexing is one `hl.slice` (plus
`hl.reverse` for negative steps and a reshape for integer indices); integer
tensors/arrays index through `hl.gather` (several of them through one gather on
the merged dims, with numpy's rule for where the indexed dims land); assignment
is a pad + select (basic) or a scatter (advanced). Boolean masks must be known
while tracing (a numpy array, a list, or a concrete tensor): the number of
selected elements decides the result's shape.

Index bounds: integer indices and static index arrays are checked while tracing;
index *tensors* are checked by the interpreter, and compiled code clamps them
(see `lamina.dialects.hl.indexing`).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.dialects import hl
from lamina.dialects.hl.base import tensor_type
from lamina.dialects.hl.indexing import IndexOutOfRangeError
from lamina.errors import ArgumentError, DTypeError, TraceError, with_location
from lamina.frontend import ops
from lamina.frontend.tensor import Tensor

# ---------------------------------------------------------------- parsing an index


@dataclass
class _Plan:
    """An index resolved against a shape (after None dims are inserted as size 1)."""

    shape: tuple[int, ...]  # the indexed tensor's shape with the None dims inserted
    slices: list[tuple[int, int, int]] = field(default_factory=list)  # per dim, step > 0
    flipped: list[int] = field(default_factory=list)  # dims taken with a negative step
    dropped: list[int] = field(default_factory=list)  # dims indexed by a Python int
    advanced: dict[int, Any] = field(default_factory=dict)  # dim -> np.ndarray or Tensor


def _describe(x: Tensor) -> str:
    return f"a tensor of shape {list(x.shape)}"


def _items(x: Tensor, index: Any) -> list[tuple[str, Any]]:
    """Classify index items; bool masks become integer arrays, Ellipsis becomes slices."""
    items = list(index) if isinstance(index, tuple) else [index]
    out: list[tuple[str, Any]] = []
    for item in items:
        if item is None:
            out.append(("new", None))
        elif item is Ellipsis:
            out.append(("ellipsis", None))
        elif isinstance(item, slice):
            out.append(("slice", item))
        elif isinstance(item, bool | np.bool_):
            raise ArgumentError(with_location(f"getitem: a bool index ({item}) is not "
                                              f"supported on {_describe(x)}"))
        elif isinstance(item, int | np.integer):
            out.append(("int", int(item)))
        elif isinstance(item, Tensor):
            out.extend(_tensor_item(x, item))
        elif isinstance(item, list | tuple | np.ndarray):
            out.extend(_array_item(x, np.asarray(item)))
        else:
            raise ArgumentError(with_location(
                f"getitem: cannot index {_describe(x)} with {type(item).__name__}"))
    if builtins.sum(k == "ellipsis" for k, _ in out) > 1:
        raise ArgumentError(with_location("getitem: an index can only have one ellipsis"))
    used = builtins.sum(k != "new" and k != "ellipsis" for k, _ in out)
    if used > x.ndim:
        raise IndexOutOfRangeError(with_location(
            f"getitem: too many indices ({used}) for {_describe(x)}"))
    fill = [("slice", slice(None))] * (x.ndim - used)
    at = next((i for i, (k, _) in enumerate(out) if k == "ellipsis"), len(out))
    return out[:at] + fill + out[at + 1:]


def _array_item(x: Tensor, array: np.ndarray) -> list[tuple[str, Any]]:
    if array.dtype == np.bool_:
        return [("array", a) for a in np.nonzero(array)] if array.ndim else \
            _raise(ArgumentError, "getitem: a 0-d bool index is not supported")
    if array.size == 0:
        array = array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.integer):
        raise DTypeError(with_location(
            f"getitem: index arrays must be integer or bool, got {array.dtype}"))
    return [("array", array.astype(np.int64))]


def _tensor_item(x: Tensor, t: Tensor) -> list[tuple[str, Any]]:
    if t.dtype == dtypes.bool_:
        if t.is_traced:
            raise TraceError(with_location(
                f"getitem: a boolean mask of shape {list(t.shape)} computed inside lm.jit "
                "selects a data-dependent number of elements; use lm.where(mask, x, 0) or "
                "x.masked_fill(~mask, 0) instead"))
        return _array_item(x, t.numpy())
    if t.dtype.category != 1:
        raise DTypeError(with_location(
            f"getitem: index tensors must be integer or bool, got {t.dtype.name}"))
    return [("tensor", t)]


def _raise(kind: type[Exception], message: str):
    raise kind(with_location(message))


def _plan(x: Tensor, index: Any) -> _Plan:
    items = _items(x, index)
    # None: a new size-1 dim, indexed by a full slice
    shape, dims_iter = [], iter(x.shape)
    for kind, _ in items:
        shape.append(1 if kind == "new" else next(dims_iter))
    plan = _Plan(tuple(shape))
    has_advanced = builtins.any(k in ("array", "tensor") for k, _ in items)
    for d, ((kind, item), n) in enumerate(zip(items, shape, strict=True)):
        if kind == "new":
            item, kind = slice(None), "slice"
        if kind == "int" and has_advanced:  # numpy: ints join the advanced indices
            kind, item = "array", np.array(item, dtype=np.int64)
        if kind == "slice":
            if item.step == 0:
                raise ArgumentError(with_location("getitem: slice step cannot be zero"))
            start, stop, step = item.indices(n)
            count = len(range(start, stop, step))
            if step < 0:  # the same elements in increasing order, flipped afterwards
                plan.flipped.append(d)
                start, step = start + (count - 1) * step if count else 0, -step
            plan.slices.append((start, start + (count - 1) * step + 1 if count else start, step))
        elif kind == "int":
            if not -n <= item < n:
                raise IndexOutOfRangeError(with_location(
                    f"getitem: index {item} is out of range for dim {d} of size {n} "
                    f"({_describe(x)})"))
            plan.slices.append((item % n, item % n + 1, 1))
            plan.dropped.append(d)
        else:
            plan.slices.append((0, n, 1))
            plan.advanced[d] = _index_tensor(x, item, n, d)
    return plan


def _index_tensor(x: Tensor, item: Any, n: int, d: int) -> Tensor:
    """An integer index tensor with negative indices wrapped (static ones checked now)."""
    if isinstance(item, np.ndarray):
        if item.size and (item.min() < -n or item.max() >= n):
            bad = item[(item < -n) | (item >= n)].reshape(-1)[0]
            raise IndexOutOfRangeError(with_location(
                f"getitem: index {bad} is out of range for dim {d} of size {n} "
                f"({_describe(x)})"))
        return Tensor._wrap(np.where(item < 0, item + n, item).astype(np.int64))
    if item.dtype not in (dtypes.int32, dtypes.int64):  # narrow ints would overflow below
        item = item.to(dtypes.int64)
    return ops.where(ops.lt(item, 0), ops.add(item, n), item)


# ---------------------------------------------------------------- getitem


def _basic(x: Tensor, plan: _Plan) -> Tensor:
    """The slices and flips of a plan (dims stay; dropped ones keep size 1)."""
    y = ops.reshape(x, plan.shape) if x.shape != plan.shape else x
    start, stop, step = (tuple(s[i] for s in plan.slices) for i in range(3))
    if (start, stop, step) != ((0,) * y.ndim, y.shape, (1,) * y.ndim):
        y = ops.emit(hl.SliceOp, y, start=start, stop=stop, step=step)
    if plan.flipped:
        y = ops.emit(hl.ReverseOp, y, dims=tuple(plan.flipped))
    return y


def getitem(x: Tensor, index: Any) -> Tensor:
    """`x[index]` with PyTorch/numpy semantics (see the module docstring)."""
    plan = _plan(x, index)
    y = _basic(x, plan)
    if plan.dropped:
        y = ops.reshape(y, tuple(n for i, n in enumerate(y.shape) if i not in plan.dropped))
    if not plan.advanced:
        return y
    return _advanced(y, plan.advanced)


def _advanced(y: Tensor, advanced: dict[int, Tensor]) -> Tensor:
    dims = sorted(advanced)
    idx = [advanced[d] for d in dims]
    if len(idx) == 1:
        return ops.emit(hl.GatherOp, y, idx[0], axis=dims[0])
    idx = [i.to(dtypes.int64) if i.dtype != dtypes.int64 else i for i in idx]
    shape = ops.broadcast_shapes(*(i.shape for i in idx), op="getitem")
    idx = [ops.broadcast_to(i, shape) for i in idx]
    adjacent = dims == list(range(dims[0], dims[0] + len(dims)))
    at = dims[0] if adjacent else 0
    if not adjacent:  # numpy: separated advanced indices put their dims first
        y = ops.permute(y, *dims, *(d for d in range(y.ndim) if d not in dims))
    sizes = y.shape[at:at + len(dims)]
    merged = ops.reshape(y, y.shape[:at] + (int(np.prod(sizes)),) + y.shape[at + len(dims):])
    linear, stride = None, 1
    for i, n in zip(reversed(idx), reversed(sizes), strict=True):
        term = i if stride == 1 else ops.mul(i, stride)
        linear = term if linear is None else ops.add(linear, term)
        stride *= n
    return ops.emit(hl.GatherOp, merged, linear, axis=at)


# ---------------------------------------------------------------- setitem


def setitem(x: Tensor, index: Any, value: Any) -> Tensor:
    """`x` with `x[index]` replaced by `value` (broadcast): the functional form of
    `x[index] = value`. With advanced indices, a position named more than once takes
    the value of its last occurrence, as numpy and torch's CPU kernels do (torch leaves
    the order unspecified); it is assigned, never accumulated."""
    plan = _plan(x, index)
    if isinstance(value, Tensor):
        value = value.to(x.dtype) if value.dtype != x.dtype else value
    elif np.ndim(value) == 0:
        value = ops.full((), np.asarray(value).item(), dtype=x.dtype)
    else:
        value = Tensor._wrap(np.asarray(value), dtype=x.dtype)
    if plan.advanced:
        return _set_advanced(x, index, value, _distinct(plan))
    region = tuple(len(range(*s)) for s in plan.slices)
    kept = tuple(n for i, n in enumerate(region) if i not in plan.dropped)
    v = ops.broadcast_to(value, kept) if value.shape != kept else value
    if int(np.prod(region)) == 0:
        return x
    v = ops.reshape(v, region)
    if plan.flipped:
        v = ops.emit(hl.ReverseOp, v, dims=tuple(plan.flipped))
    low = tuple(s[0] for s in plan.slices)
    interior = tuple(s[2] - 1 for s in plan.slices)
    high = tuple(n - lo - (m + (m - 1) * i)
                 for n, lo, m, i in zip(plan.shape, low, region, interior, strict=True))
    pads = dict(low=low, high=high, interior=interior)
    placed = ops.emit(hl.PadOp, v, **pads, value=_zero(x.dtype))
    mask = ops.emit(hl.PadOp, ops.full(region, True, dtype=dtypes.bool_), **pads, value=False)
    x1 = ops.reshape(x, plan.shape)
    return ops.reshape(ops.where(mask, placed, x1), x.shape)


def _zero(dt: dtypes.DType) -> bool | int | float:
    return False if dt == dtypes.bool_ else (0.0 if dt.is_floating_point else 0)


def _set_advanced(x: Tensor, index: Any, value: Tensor, distinct: bool) -> Tensor:
    n = x.numel()
    positions = getitem(ops.reshape(ops.arange(n), x.shape), index)
    m = positions.numel()
    v = ops.broadcast_to(value, positions.shape)
    if m == 0:
        return x
    flat_pos = ops.reshape(positions, (m,))
    v = ops.reshape(v, (m,))
    count = ops.emit(hl.ScatterAddOp, flat_pos, ops.full((m,), 1, dtype=dtypes.int32),
                     result_type=tensor_type(dtypes.int32.ir_type, (n,)), axis=0)
    # which element of `v` each written position takes (scattered once per position),
    # then gathered: exact for every dtype (a sum of one value and zeros would not be)
    source = ops.arange(m)
    if not distinct:
        source = ops.where(_last_occurrences(flat_pos, n), source, 0)
    writer = ops.emit(hl.ScatterAddOp, flat_pos, source,
                      result_type=tensor_type(dtypes.int64.ir_type, (n,)), axis=0)
    out = ops.where(ops.gt(count, 0), ops.emit(hl.GatherOp, v, writer, axis=0),
                    ops.reshape(x, (n,)))
    return ops.reshape(out, x.shape)


def _distinct(plan: _Plan) -> bool:
    """Whether the advanced indices are known now and name every position once."""
    arrays = [t._known_array() for t in plan.advanced.values()]
    if builtins.any(a is None for a in arrays) or builtins.sum(a.size for a in arrays) > 1 << 20:
        return False
    rows = np.stack([a.reshape(-1) for a in np.broadcast_arrays(*arrays)])
    return np.unique(rows, axis=1).shape[1] == rows.shape[1]


def _last_occurrences(flat_pos: Tensor, n: int) -> Tensor:
    """A mask of the j whose position flat_pos[j] (< n) no later j names again.

    A scatter can only add, so each position's largest j is found one bit at a time,
    from the top: the candidates of a position start as all its j; where one of them
    has the bit set, those without it drop out. log2(m) rounds of a scatter and a
    gather."""
    m = flat_pos.numel()
    j = ops.arange(m)
    candidate = ops.full((m,), True, dtype=dtypes.bool_)
    count_type = tensor_type(dtypes.int32.ir_type, (n,))
    for b in reversed(range((m - 1).bit_length())):
        has_bit = ops.eq(ops.bitwise_and(ops.floor_divide(j, 1 << b), 1), 1)
        votes = ops.emit(hl.ScatterAddOp, flat_pos,
                         ops.logical_and(candidate, has_bit).to(dtypes.int32),
                         result_type=count_type, axis=0)
        some = ops.gt(ops.emit(hl.GatherOp, votes, flat_pos, axis=0), 0)
        candidate = ops.logical_and(candidate, ops.eq(has_bit, some))
    return candidate


# ---------------------------------------------------------------- API and Tensor methods

from lamina.frontend import movement  # noqa: E402
from lamina.frontend.movement import *  # noqa: E402,F403


def _install_methods() -> None:
    """Tensor methods of the torch names defined here (methods.py wires `[]` itself)."""
    as_method = ["flip", "roll", "narrow", "split", "chunk", "unbind", "select", "tril", "triu",
                 "take_along_dim"]
    for name in as_method:
        setattr(Tensor, name, getattr(movement, name))
    # torch's methods put `dim` before the index; the functions here already do too
    for name in ("index_select", "gather", "scatter_add", "index_add"):
        setattr(Tensor, name, getattr(movement, name))
    Tensor.index_fill = lambda self, dim, index, value: movement.index_add(
        self, dim, index, ops.sub(ops.full_like(movement.index_select(self, dim, index), value),
                                  movement.index_select(self, dim, index)))


_install_methods()

__all__ = ["getitem", "setitem", *movement.__all__]
