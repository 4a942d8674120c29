"""Indexing and data movement with PyTorch semantics: `x[...]`, `x[...] = v`, `lm.cat`,
`lm.stack`, `lm.split`, `lm.gather`, `lm.pad`, `lm.flip`, `lm.one_hot`, `lm.tril`, ...

Everything lowers to a few hl ops: basic indexing is one `hl.slice` (plus
`hl.reverse` for negative steps and a reshape for integer indices); integer
tensors/arrays index through `hl.gather` (several of them through one gather on
the merged dims, with torch's rule for where the indexed dims land: see `_Plan`); assignment
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
from lamina.errors import ArgumentError, DTypeError, TraceError, like, with_location
from lamina.frontend import ops
from lamina.frontend.tensor import Tensor

# ---------------------------------------------------------------- parsing an index


@dataclass
class _Plan:
    """An index resolved against a shape (after None and bool dims are inserted as
    size 1).

    torch's rule (which differs from numpy's): an integer (a Python int, or a 0-d
    integer tensor) is basic indexing, a `select` that removes its dim; only tensors,
    arrays, lists and bools are advanced indices. The advanced indices' dims stay where
    they are when those indices are adjacent once the selected dims are gone, and go
    first otherwise: x[1, :, idx, 0:2] keeps idx's dims in place (numpy puts them
    first, since it counts `1` as advanced)."""

    shape: tuple[int, ...]  # the indexed tensor's shape with the None dims inserted
    slices: list[tuple[int, int, int]] = field(default_factory=list)  # per dim, step > 0
    flipped: list[int] = field(default_factory=list)  # dims taken with a negative step
    dropped: list[int] = field(default_factory=list)  # dims indexed by a Python int
    selected: dict[int, Tensor] = field(default_factory=dict)  # dim -> traced 0-d index
    advanced: dict[int, Any] = field(default_factory=dict)  # dim -> np.ndarray or Tensor

    def remaining(self, d: int, dropped: bool = True) -> int:
        """Dim `d`'s position once the selected (and the `dropped`) dims are gone."""
        gone = (*self.dropped, *self.selected) if dropped else tuple(self.selected)
        return d - builtins.sum(g < d for g in gone)


def _describe(x: Tensor) -> str:
    return f"a tensor of shape {list(x.shape)}"


def _items(x: Tensor, index: Any) -> list[tuple[str, Any]]:
    """Classify index items; bool masks become integer arrays, a bool scalar a new dim
    indexed by [0] (True) or [] (False), Ellipsis becomes slices."""
    items = list(index) if isinstance(index, tuple) else [index]
    out: list[tuple[str, Any]] = []
    for item in items:
        if item is None:
            out.append(("new", None))
        elif item is Ellipsis:
            out.append(("ellipsis", None))
        elif isinstance(item, slice):
            out.append(("slice", _slice(x, item)))
        elif isinstance(item, bool | np.bool_):
            out.append(("newindex", np.zeros(1 if item else 0, np.int64)))
        elif isinstance(item, int | np.integer):
            out.append(("int", int(item)))
        elif isinstance(item, Tensor):
            out.extend(_tensor_item(x, item))
        elif isinstance(item, list | tuple | np.ndarray):
            out.extend(_array_item(x, np.asarray(item)))
        else:
            raise _index_error(ArgumentError, (
                f"getitem: cannot index {_describe(x)} with {type(item).__name__} (only "
                "integers, slices, ellipsis, None, bools and integer or bool tensors/arrays)"))
    if builtins.sum(k == "ellipsis" for k, _ in out) > 1:
        raise _index_error(ArgumentError, "getitem: an index can only have one ellipsis")
    used = builtins.sum(_dims_used(k, v) for k, v in out)
    if used > x.ndim:
        raise IndexOutOfRangeError(with_location(
            f"getitem: too many indices ({used}) for {_describe(x)}"))
    fill = [("slice", slice(None))] * (x.ndim - used)
    at = next((i for i, (k, _) in enumerate(out) if k == "ellipsis"), len(out))
    return _expand_masks(x, out[:at] + fill + out[at + 1:])


def _dims_used(kind: str, item: Any) -> int:
    return item.ndim if kind == "mask" else int(kind not in ("new", "newindex", "ellipsis"))


def _expand_masks(x: Tensor, items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Each boolean mask, checked against the dims it covers (torch's IndexError when a
    mask of the wrong length would select other rows), becomes integer index arrays."""
    out: list[tuple[str, Any]] = []
    d = 0
    for kind, item in items:
        if kind == "mask":
            covered = tuple(x.shape[d:d + item.ndim])
            if item.shape != covered:
                raise IndexOutOfRangeError(with_location(
                    f"getitem: the shape of the mask {list(item.shape)} at index {d} does not "
                    f"match the shape of the indexed tensor {list(x.shape)} at index {d}"))
            out.extend(("array", a) for a in np.nonzero(item))
        else:
            out.append((kind, item))
        d += _dims_used(kind, item)
    return out


def _index_error(kind: type, message: str) -> Exception:
    """A lamina error that is also an IndexError, as torch's indexing errors are."""
    return like(kind, IndexError)(with_location(message))


def _slice(x: Tensor, item: slice) -> slice:
    """A slice with its bounds as ints (0-d integer tensors allowed, as in torch)."""
    def bound(v: Any) -> int | None:
        if v is None or isinstance(v, int | np.integer) and not isinstance(v, bool):
            return v
        if isinstance(v, Tensor) and v.ndim == 0 and v.dtype.category == 1:
            return int(v.item())
        raise _index_error(ArgumentError, (
            f"getitem: slice bounds must be integers or None, got {v!r:.40} ({_describe(x)})"))

    return slice(bound(item.start), bound(item.stop), bound(item.step))


def _array_item(x: Tensor, array: np.ndarray) -> list[tuple[str, Any]]:
    if array.dtype == np.bool_:
        if array.ndim == 0:
            return [("newindex", np.zeros(1 if array else 0, np.int64))]
        return [("mask", array)]  # checked and expanded by _expand_masks
    if array.size == 0:
        array = array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.integer):
        raise _index_error(DTypeError, f"getitem: index arrays must be integer or bool, got "
                           f"{array.dtype} ({_describe(x)})")
    return [("array", array.astype(np.int64))]


def _tensor_item(x: Tensor, t: Tensor) -> list[tuple[str, Any]]:
    if t.dtype in (dtypes.bool_, dtypes.uint8):  # torch reads uint8 index tensors as masks
        if t.is_traced:
            raise TraceError(with_location(
                f"getitem: a boolean mask of shape {list(t.shape)} computed inside lm.jit "
                "selects a data-dependent number of elements; use lm.where(mask, x, 0) or "
                "x.masked_fill(~mask, 0) instead"))
        return _array_item(x, t.numpy().astype(bool))
    if t.dtype.category != 1:
        raise _index_error(DTypeError, (
            f"getitem: index tensors must be integer or bool, got {t.dtype.name} "
            f"({_describe(x)})"))
    if t.ndim == 0:  # torch: a 0-d integer tensor selects, as an int does
        return [("select", t)] if t.is_traced else [("int", int(t.item()))]
    return [("tensor", t)]


def _plan(x: Tensor, index: Any) -> _Plan:
    items = _items(x, index)
    # None: a new size-1 dim, indexed by a full slice; a bool: a new size-1 dim, indexed
    shape, dims_iter = [], iter(x.shape)
    for kind, _ in items:
        shape.append(1 if kind in ("new", "newindex") else next(dims_iter))
    plan = _Plan(tuple(shape))
    for d, ((kind, item), n) in enumerate(zip(items, shape, strict=True)):
        if kind == "new":
            item, kind = slice(None), "slice"
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
        elif kind == "select":
            plan.slices.append((0, n, 1))
            plan.selected[d] = _index_tensor(x, item, n, d)
        else:
            plan.slices.append((0, n, 1))
            plan.advanced[d] = _index_tensor(x, item, n, d)
    return plan


def _index_tensor(x: Tensor, item: Any, n: int, d: int) -> Tensor:
    """An integer index tensor with negative indices wrapped (static ones checked now)."""
    if isinstance(item, Tensor) and not item.is_traced:  # checked now, as torch does
        item = item.numpy().astype(np.int64)
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
    """`x[index]` with PyTorch semantics (see `_Plan` and the module docstring); always
    a new tensor."""
    plan = _plan(x, index)
    y = _basic(x, plan)
    for d in sorted(plan.selected, reverse=True):  # a traced 0-d index: a gather
        y = ops.emit(hl.GatherOp, y, plan.selected[d], axis=d)
    if plan.dropped:
        gone = {plan.remaining(d, dropped=False) for d in plan.dropped}
        y = ops.reshape(y, tuple(n for i, n in enumerate(y.shape) if i not in gone))
    if plan.advanced:
        y = _advanced(y, {plan.remaining(d): t for d, t in plan.advanced.items()})
    return ops.fresh(y) if y is x else y


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
    if not adjacent:  # separated advanced indices put their dims first
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
    `x[index] = value`. With advanced indices, a position indexed more than once gets
    the last of its values (in the indices' row-major order), as torch's CPU does."""
    if isinstance(value, Tensor):
        if value.dtype != x.dtype:
            _check_index_put_dtype(x, index, value)
            value = value.to(x.dtype)
    elif np.ndim(value) == 0:
        value = ops.full((), np.asarray(value).item(), dtype=x.dtype)
    else:
        value = Tensor._wrap(np.asarray(value), dtype=x.dtype)
    if _is_mask(x, index) and value.numel() == 1:
        # one value for every selected position: no data-dependent count, so it
        # compiles (a mask selecting k values to fill from k values does not)
        mask = ops.reshape(index, index.shape + (1,) * (x.ndim - index.ndim))
        return ops.where(mask, ops.reshape(value, ()), x)
    plan = _plan(x, index)
    if plan.advanced or plan.selected:
        return _set_advanced(x, index, value)
    region = tuple(len(range(*s)) for s in plan.slices)
    kept = tuple(n for i, n in enumerate(region) if i not in plan.dropped)
    value = _strip_leading_ones(value, len(kept))
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


def _check_index_put_dtype(x: Tensor, index: Any, value: Tensor) -> None:
    """torch converts a tensor value of another dtype for basic indexing (copy_) and for
    one boolean mask filled with one value (masked_fill), but its index_put (every
    other advanced index) requires the value's dtype to be x's: RuntimeError."""
    if _is_mask(x, index) and value.numel() == 1 and x.ndim > 0:
        return
    plan = _plan(x, index)
    if plan.advanced or plan.selected:
        raise like(DTypeError, RuntimeError)(with_location(
            f"setitem: index put requires the source and destination dtypes match, got "
            f"{x.dtype.name} for the destination and {value.dtype.name} for the source"))


def _is_mask(x: Tensor, index: Any) -> bool:
    return isinstance(index, Tensor) and index.dtype == dtypes.bool_ and \
        0 < index.ndim <= x.ndim and index.shape == x.shape[:index.ndim]


def _strip_leading_ones(value: Tensor, rank: int) -> Tensor:
    """torch drops a value's leading size-1 dims beyond the target's rank."""
    extra = 0
    while value.ndim - extra > rank and value.shape[extra] == 1:
        extra += 1
    return ops.reshape(value, value.shape[extra:]) if extra else value


def _zero(dt: dtypes.DType) -> bool | int | float:
    return False if dt == dtypes.bool_ else (0.0 if dt.is_floating_point else 0)


def _set_advanced(x: Tensor, index: Any, value: Tensor) -> Tensor:
    n = x.numel()
    positions = getitem(ops.reshape(ops.arange(n), x.shape), index)
    flat_pos = ops.reshape(positions, (positions.numel(),))
    work = x.dtype if x.dtype != dtypes.bool_ else dtypes.uint8
    value = _strip_leading_ones(value, positions.ndim)
    v = ops.broadcast_to(value.to(work), positions.shape)
    v = ops.reshape(v, (v.numel(),))
    written = ops.emit(hl.ScatterOp, flat_pos, v, result_type=tensor_type(work.ir_type, (n,)),
                       axis=0)
    ones = ops.full(v.shape, 1, dtype=dtypes.int32)
    count = ops.emit(hl.ScatterAddOp, flat_pos, ones,
                     result_type=tensor_type(dtypes.int32.ir_type, (n,)), axis=0)
    written = written.to(x.dtype) if written.dtype != x.dtype else written
    out = ops.where(ops.gt(count, 0), written, ops.reshape(x, (n,)))
    return ops.reshape(out, x.shape)


# ---------------------------------------------------------------- API and Tensor methods

from lamina.frontend import movement  # noqa: E402
from lamina.frontend.movement import *  # noqa: E402,F403


def _install_methods() -> None:
    """Tensor methods of the torch names defined here (methods.py wires `[]` itself)."""
    as_method = ["flip", "roll", "narrow", "split", "chunk", "unbind", "select", "tril", "triu",
                 "take_along_dim"]
    from lamina.frontend.methods import as_view_method

    for name in as_method:
        setattr(Tensor, name, as_view_method(name, getattr(movement, name)))
    # torch's methods put `dim` before the index; the functions here already do too
    for name in ("index_select", "gather", "scatter_add", "index_add", "index_fill"):
        setattr(Tensor, name, getattr(movement, name))


_install_methods()

def check_index_values(index: Tensor, size: int, op: str, allow: int | None = None) -> Tensor:
    """`index` (as int64), its values checked against [0, size) -- `allow`, an
    ignore_index, passes too -- when the program runs (hl.check_index): torch's
    IndexError naming `op` and the user's line. For ops that select by comparing with
    their indices (one_hot, nll_loss), where an index out of range would select
    nothing; ops that read at an index check in hl.gather / hl.scatter."""
    if size <= 0 or not index.numel():
        return index
    index = index if index.dtype == dtypes.int64 else index.to(dtypes.int64)
    return ops.emit(hl.CheckIndexOp, index, size=size, opname=op, allow=allow)


__all__ = ["getitem", "setitem", *movement.__all__]
