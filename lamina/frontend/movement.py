"""Data movement with PyTorch signatures: cat/stack/split/chunk/narrow, index_select,
gather/take_along_dim/scatter_add/index_add, embedding, pad, flip, roll, one_hot,
tril/triu. Exported as `lm.*` through `lamina.frontend.indexing`."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.dialects import hl
from lamina.dialects.hl.base import tensor_type
from lamina.errors import (
    ArgumentError,
    DimError,
    DTypeError,
    ShapeError,
    TraceError,
    like,
    with_location,
)
from lamina.frontend import ops
from lamina.frontend.tensor import Tensor


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(x)


def _dim(x: Tensor, dim: int, op: str, extra: int = 0) -> int:
    rank = x.ndim + extra
    if not -builtins.max(rank, 1) <= dim < builtins.max(rank, 1):
        raise DimError(with_location(
            f"{op}: dim {dim} is out of range for a tensor of shape {list(x.shape)}"))
    return dim % builtins.max(rank, 1)


def _slice_dim(x: Tensor, dim: int, start: int, stop: int, step: int = 1) -> Tensor:
    """Elements start:stop:step of `dim` (a new tensor even when that is all of x)."""
    if (start, stop, step) == (0, x.shape[dim], 1):
        return ops.fresh(x)
    starts = tuple(start if d == dim else 0 for d in range(x.ndim))
    stops = tuple(stop if d == dim else n for d, n in enumerate(x.shape))
    steps = tuple(step if d == dim else 1 for d in range(x.ndim))
    return ops.emit(hl.SliceOp, x, start=starts, stop=stops, step=steps)


def _check_index_dtype(index: Tensor, op: str) -> Tensor:
    if index.dtype not in (dtypes.int32, dtypes.int64):
        if index.dtype.category == 1:
            return index.to(dtypes.int64)
        raise DTypeError(with_location(
            f"{op}: indices must be an integer tensor, got {index.dtype.name}"))
    return index


# ---------------------------------------------------------------- joining, splitting


def cat(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Concatenate along `dim` (dtypes promote, other dims must agree)."""
    if isinstance(tensors, Tensor):  # torch: TypeError (a tensor is no sequence of tensors)
        raise ArgumentError(with_location(
            f"cat: expected a list or tuple of tensors, got a tensor of shape "
            f"{list(tensors.shape)}"))
    ts = [_t(t) for t in tensors]
    if not ts:
        raise ArgumentError(with_location("cat: expected a non-empty list of tensors"))
    dt = ops.result_dtype(*ts)
    # torch's legacy rule: 1-D empty tensors are skipped, whatever the others' shapes
    ts = [t for t in ts if t.shape != (0,)] or ts[:1]
    d = _dim(ts[0], dim, "cat")
    ts = [t.to(dt) if t.dtype != dt else t for t in ts]
    for t in ts:
        if t.ndim != ts[0].ndim or builtins.any(
                a != b for i, (a, b) in enumerate(zip(t.shape, ts[0].shape, strict=True)) if i != d):
            raise ShapeError(with_location(
                f"cat: shapes {[list(t.shape) for t in ts]} must agree except in dim {d}"))
    if len(ts) == 1:
        return ops.fresh(ts[0])
    return ops.emit(hl.ConcatOp, *ts, dim=d)


concat = concatenate = cat


def stack(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new dim."""
    if isinstance(tensors, Tensor):  # torch: TypeError (a tensor is no sequence of tensors)
        raise ArgumentError(with_location(
            f"stack: expected a list or tuple of tensors, got a tensor of shape "
            f"{list(tensors.shape)}"))
    ts = [_t(t) for t in tensors]
    if not ts:
        raise ArgumentError(with_location("stack: expected a non-empty list of tensors"))
    if len({t.shape for t in ts}) > 1:
        raise ShapeError(with_location(
            f"stack: all tensors must have one shape, got {[list(t.shape) for t in ts]}"))
    d = _dim(ts[0], dim, "stack", extra=1)
    return cat([ops.unsqueeze(t, d) for t in ts], d)


def split(x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0
          ) -> tuple[Tensor, ...]:
    """torch.split: pieces of `split_size` (the last may be smaller) or of the given sizes."""
    if x.ndim == 0:  # torch: RuntimeError
        raise ShapeError(with_location("split: expects at least a 1-dimensional tensor"))
    d = _dim(x, dim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, int | np.integer):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ArgumentError(with_location(f"split: split_size must be positive, got {size}"))
        sizes = [builtins.min(size, n - s) for s in range(0, n, size)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise ShapeError(with_location(
                f"split: sections {sizes} do not add up to {n} (dim {d} of shape "
                f"{list(x.shape)})"))
    out, offset = [], 0
    for s in sizes:
        out.append(_slice_dim(x, d, offset, offset + s))
        offset += s
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    if chunks <= 0:
        raise ArgumentError(with_location(f"chunk: chunks must be positive, got {chunks}"))
    if x.ndim == 0:  # torch: RuntimeError
        raise ShapeError(with_location("chunk: expects at least a 1-dimensional tensor"))
    n = x.shape[_dim(x, dim, "chunk")]
    return split(x, builtins.max(-(-n // chunks), 1), dim)


def narrow(x: Tensor, dim: int, start: int | Tensor, length: int) -> Tensor:
    """torch.narrow: `length` elements of `dim` from `start` (an int, or a 0-d integer
    tensor: inside lm.jit a traced one selects them with a gather)."""
    if x.ndim == 0:  # torch: RuntimeError
        raise ShapeError(with_location("narrow: cannot be applied to a 0-d tensor"))
    d = _dim(x, dim, "narrow")
    n = x.shape[d]
    if isinstance(start, Tensor):
        if start.ndim or start.dtype.category != 1:
            raise ArgumentError(with_location(
                f"narrow: a tensor start must be a 0-d integer tensor, got shape "
                f"{list(start.shape)} and dtype {start.dtype.name}"))
        if start.is_traced:
            if length < 0 or length > n:
                raise ShapeError(with_location(
                    f"narrow: length {length} does not fit dim {d} of shape {list(x.shape)}"))
            first = ops.where(ops.lt(start, 0), ops.add(start, n), start).to(dtypes.int64)
            return index_select(x, d, ops.add(ops.arange(length), first))
        start = int(start.item())
    if not -n <= start <= n:
        raise DimError(with_location(
            f"narrow: start {start} is out of range for dim {d} of shape {list(x.shape)} "
            f"(expected a start in [{-n}, {n}])"))
    start = start + n if start < 0 else start
    if length < 0 or start + length > n:
        raise ShapeError(with_location(
            f"narrow: start {start} + length {length} does not fit dim {d} of shape "
            f"{list(x.shape)}"))
    return _slice_dim(x, d, start, start + length)


def select(x: Tensor, dim: int, index: int) -> Tensor:
    d = _dim(x, dim, "select")
    return x[(slice(None),) * d + (index,)]


def unbind(x: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    if x.ndim == 0:  # torch: IndexError
        raise DimError(with_location(
            f"unbind: dim {dim} specified, but the tensor has no dimensions"))
    d = _dim(x, dim, "unbind")
    return tuple(select(x, d, i) for i in range(x.shape[d]))


def flip(x: Tensor, dims: int | Sequence[int]) -> Tensor:
    dims = (dims,) if isinstance(dims, int | np.integer) else tuple(dims)
    ds = tuple(sorted({_dim(x, int(d), "flip") for d in dims})) if x.ndim else ()
    if len(ds) != len(dims) and x.ndim:  # torch: RuntimeError
        raise ShapeError(with_location(f"flip: dims {list(dims)} name a dim more than once"))
    return ops.emit(hl.ReverseOp, x, dims=ds) if ds else ops.fresh(x)


def roll(x: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None
         ) -> Tensor:
    if dims is None:
        if x.ndim == 0:
            return ops.fresh(x)
        return ops.reshape(roll(ops.reshape(x, (x.numel(),)), shifts, 0), x.shape)
    shifts = (shifts,) if isinstance(shifts, int | np.integer) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int | np.integer) else tuple(dims)
    original = x
    if len(shifts) != len(dims):
        raise ArgumentError(with_location(
            f"roll: {len(shifts)} shifts for {len(dims)} dims"))
    for s, dim in zip(shifts, dims, strict=True):
        if x.ndim == 0:  # torch: a 0-d tensor has no dim to roll along
            raise DimError(with_location(f"roll: dim {dim} of a 0-d tensor (it has no dims)"))
        d = _dim(x, dim, "roll")
        n = x.shape[d]
        k = int(s) % n if n else 0
        if k:
            x = cat([_slice_dim(x, d, n - k, n), _slice_dim(x, d, 0, n - k)], d)
    return x if x is not original else ops.fresh(x)


# ---------------------------------------------------------------- gather and scatter


def index_select(x: Tensor, dim: int, index: Any) -> Tensor:
    """Rows of `x` along `dim` at the (1-D) integer `index`."""
    d = _dim(x, dim, "index_select")
    index = _check_index_dtype(_t(index), "index_select")
    if index.ndim > 1:
        raise like(ShapeError, IndexError)(with_location(
            f"index_select: index must be 1-D, got shape {list(index.shape)}"))
    _check_static_index(index, x.shape[d] if x.ndim else 1, d, x, "index_select", low=0)
    index = ops.reshape(index, (index.numel(),)) if index.ndim == 0 else index
    if x.ndim == 0:  # torch treats a 0-d tensor as one element, and gives a 0-d result
        return ops.reshape(ops.emit(hl.GatherOp, ops.reshape(x, (1,)), index, axis=0), ())
    return ops.emit(hl.GatherOp, x, index, axis=d)


def embedding(indices: Any, weight: Tensor) -> Tensor:
    """Rows of `weight` at `indices`: shape indices.shape + (embedding_dim,)."""
    index = _check_index_dtype(_t(indices), "embedding")
    _check_static_index(index, weight.shape[0], 0, weight, "embedding", low=0)
    return ops.emit(hl.GatherOp, weight, index, axis=0)


def _linear_index(x_shape: tuple[int, ...], index: Tensor, d: int) -> Tensor:
    """Row-major positions in `x_shape` of the elements torch.gather(x, d, index) reads."""
    strides = [int(np.prod(x_shape[i + 1:])) for i in range(len(x_shape))]
    idx = index.to(dtypes.int64) if index.dtype != dtypes.int64 else index
    linear = ops.mul(idx, strides[d]) if strides[d] != 1 else idx
    itype = tensor_type(dtypes.int64.ir_type, index.shape)
    for i in range(index.ndim):
        if i != d and index.shape[i] > 1:
            iota = ops.emit(hl.IotaOp, result_type=itype, dim=i)
            linear = ops.add(linear, ops.mul(iota, strides[i]) if strides[i] != 1 else iota)
    return linear


def _along_check(x: Tensor, d: int, index: Tensor, op: str) -> None:
    if index.ndim != x.ndim or builtins.any(
            index.shape[i] > x.shape[i] for i in range(x.ndim) if i != d):
        raise ShapeError(with_location(
            f"{op}: index of shape {list(index.shape)} does not fit input of shape "
            f"{list(x.shape)} along dim {d} (same rank; other dims no larger)"))
    if not index.is_traced and index.numel():
        values = index.numpy()
        if values.min() < 0 or values.max() >= x.shape[d]:
            from lamina.dialects.hl.indexing import IndexOutOfRangeError

            raise IndexOutOfRangeError(with_location(
                f"{op}: index {int(values[(values < 0) | (values >= x.shape[d])][0])} is out "
                f"of range for dim {d} of size {x.shape[d]} (input shape {list(x.shape)})"))


def gather(x: Tensor, dim: int, index: Any) -> Tensor:
    """torch.gather: out[i][j] = x[i][index[i][j]] (for dim=1), shape of `index`; a 0-d
    input or index counts as 1-D (as in torch)."""
    d = _dim(x, dim, "gather")
    index = _check_index_dtype(_t(index), "gather")
    if x.ndim == 0 or index.ndim == 0:
        x1, i1 = (ops.reshape(t, (1,)) if t.ndim == 0 else t for t in (x, index))
        return ops.reshape(gather(x1, d, i1), index.shape)
    _along_check(x, d, index, "gather")
    flat = ops.reshape(x, (x.numel(),))
    return ops.emit(hl.GatherOp, flat, _linear_index(x.shape, index, d), axis=0)


def take_along_dim(x: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    """torch.take_along_dim: gather with x and indices broadcast except along `dim`;
    along a `dim`, negative indices count from its end, as torch's (without one, torch
    refuses them: so does lamina)."""
    indices = _check_index_dtype(_t(indices), "take_along_dim")
    if dim is None:
        return gather(ops.reshape(x, (x.numel(),)), 0, ops.reshape(indices, (indices.numel(),)))
    d = _dim(x, dim, "take_along_dim")
    indices = _wrap_negative(indices, x.shape[d])
    if indices.ndim != x.ndim:
        raise ShapeError(with_location(
            f"take_along_dim: input {list(x.shape)} and indices {list(indices.shape)} must "
            "have the same rank"))
    both = ops.broadcast_shapes(tuple(n for i, n in enumerate(x.shape) if i != d),
                                tuple(n for i, n in enumerate(indices.shape) if i != d),
                                op="take_along_dim")
    x_shape = both[:d] + (x.shape[d],) + both[d:]
    i_shape = both[:d] + (indices.shape[d],) + both[d:]
    return gather(ops.broadcast_to(x, x_shape), d, ops.broadcast_to(indices, i_shape))


def _wrap_negative(indices: Tensor, size: int) -> Tensor:
    return ops.where(ops.lt(indices, 0), ops.add(indices, size), indices)


def same_dtype_source(x: Tensor, src: Any, op: str) -> None:
    """torch's scatter family takes a source tensor only of self's dtype (RuntimeError),
    where a Python number is converted."""
    if isinstance(src, Tensor) and src.dtype != x.dtype:
        raise like(DTypeError, RuntimeError)(with_location(
            f"{op}(): expected self.dtype to be equal to src.dtype, got {x.dtype.name} and "
            f"{src.dtype.name}"))


def scatter_add(x: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:
    """torch.scatter_add: x with src[i][j] added at x[i][index[i][j]] (dim=1)."""
    d = _dim(x, dim, "scatter_add")
    index = _check_index_dtype(_t(index), "scatter_add")
    src = _t(src)
    if x.ndim == 0 or index.ndim == 0:  # 0-d tensors count as 1-D, as in torch
        x1, i1, s1 = (ops.reshape(t, (1,)) if t.ndim == 0 else t for t in (x, index, src))
        return ops.reshape(scatter_add(x1, d, i1, s1), x.shape)
    _along_check(x, d, index, "scatter_add")
    same_dtype_source(x, src, "scatter_add")
    if src.shape != index.shape:
        src = src[tuple(slice(0, n) for n in index.shape)]
    flat_type = tensor_type(x.dtype.ir_type, (x.numel(),))
    linear = ops.reshape(_linear_index(x.shape, index, d), (index.numel(),))
    added = ops.emit(hl.ScatterAddOp, linear, ops.reshape(src, (src.numel(),)),
                     result_type=flat_type, axis=0)
    return ops.add(x, ops.reshape(added, x.shape))


def index_add(x: Tensor, dim: int, index: Any, source: Tensor, alpha: float = 1) -> Tensor:
    """torch.index_add: x with source's slices added at `index` along `dim`."""
    d = _dim(x, dim, "index_add")
    index = _check_index_dtype(_t(index), "index_add")
    source = _t(source)
    source = source.to(x.dtype) if source.dtype != x.dtype else source
    if alpha != 1:
        source = ops.mul(source, alpha)
    added = ops.emit(hl.ScatterAddOp, index, source, result_type=x._ir_type(), axis=d)
    return ops.add(x, added)


def index_fill(x: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    """torch.index_fill: `x` with the slices at `index` along `dim` set to `value` (a
    number or a 0-d tensor); a repeated index sets the same slice again."""
    d = _dim(x, dim, "index_fill")
    index = _t(index)
    if index.dtype != dtypes.int64:
        from lamina.dialects.hl.indexing import IndexOutOfRangeError

        raise IndexOutOfRangeError(with_location(
            f"index_fill: index must be an int64 tensor, got {index.dtype.name}"))
    if index.ndim > 1:
        raise ShapeError(with_location(
            f"index_fill: index must be 0-d or 1-D, got shape {list(index.shape)}"))
    if isinstance(value, Tensor) and value.ndim:
        raise ShapeError(with_location(
            f"index_fill: value must be a number or a 0-d tensor, got shape "
            f"{list(value.shape)}"))
    n = x.shape[d] if x.ndim else 1
    index = ops.reshape(index, (index.numel(),))
    _check_static_index(index, n, d, x, "index_fill")
    index = ops.where(ops.lt(index, 0), ops.add(index, n), index)
    hits = ops.emit(hl.ScatterAddOp, index, ops.full(index.shape, 1, dtype=dtypes.int32),
                    result_type=tensor_type(dtypes.int32.ir_type, (n,)), axis=0)
    mask = ops.reshape(ops.gt(hits, 0), tuple(n if i == d else 1 for i in range(x.ndim)))
    value = value.to(x.dtype) if isinstance(value, Tensor) else ops.full((), value, x.dtype)
    return ops.where(mask, value, x)


def _check_static_index(index: Tensor, n: int, d: int, x: Tensor, op: str, low: int | None = None
                        ) -> None:
    """Indices must lie in [low, n), low = -n unless given (torch's IndexError). Outside
    lm.jit they are checked now (a lazy index is computed for it: compiled code would
    clamp it instead); inside, the interpreter checks and compiled code clamps."""
    if index.is_traced or not index.numel():
        return
    values = index.numpy()
    bad = values[(values < (-n if low is None else low)) | (values >= n)]
    if bad.size:
        from lamina.dialects.hl.indexing import IndexOutOfRangeError

        raise IndexOutOfRangeError(with_location(
            f"{op}: index {int(bad[0])} is out of range for dim {d} of size {n} (input "
            f"shape {list(x.shape)})"))


# ---------------------------------------------------------------- padding, masks


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
        ) -> Tensor:
    """torch.nn.functional.pad: `pad` = (last_lo, last_hi, prev_lo, ...). Constant mode
    pads with `value` (negative amounts crop); 'reflect', 'replicate' and 'circular' pad
    the trailing 1-3 dims by reading the input at mirrored, clamped or wrapped positions
    (a gather: exact, and its gradient sums onto the positions read)."""
    if mode in ("reflect", "replicate", "circular"):
        return _pad_by_index(x, pad, mode)
    if mode != "constant":  # torch: NotImplementedError for a mode it lacks
        raise like(ArgumentError, NotImplementedError)(with_location(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got "
            f"{mode!r}"))
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ArgumentError(with_location(
            f"pad: {len(pad)} padding values for a tensor of rank {x.ndim} (need pairs, at "
            "most two per dim)"))
    low, high = [0] * x.ndim, [0] * x.ndim
    for i in range(len(pad) // 2):
        low[x.ndim - 1 - i], high[x.ndim - 1 - i] = int(pad[2 * i]), int(pad[2 * i + 1])
    for n, lo, hi in zip(x.shape, low, high, strict=True):
        if n + lo + hi < 0:
            raise ShapeError(with_location(
                f"pad: padding {list(pad)} crops a tensor of shape {list(x.shape)} below 0"))
    v = 0 if value is None else value
    v = bool(v) if x.dtype == dtypes.bool_ else (float(v) if x.dtype.is_floating_point
                                                  else int(v))
    return ops.emit(hl.PadOp, x, low=tuple(low), high=tuple(high), interior=(0,) * x.ndim,
                    value=v)


def _pad_by_index(x: Tensor, pad: Sequence[int], mode: str) -> Tensor:
    n_dims = len(pad) // 2
    if len(pad) % 2 or not 1 <= n_dims <= 3 or x.ndim not in (n_dims + 1, n_dims + 2):
        raise like(ArgumentError, NotImplementedError)(with_location(
            f"pad: mode {mode!r} pads the last k = 1 to 3 dims of a (k+1)-D or (k+2)-D "
            f"tensor (2k padding values); got {len(pad)} values for shape {list(x.shape)}"))
    for i in range(n_dims):
        d = x.ndim - 1 - i
        lo, hi, n = int(pad[2 * i]), int(pad[2 * i + 1]), x.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ArgumentError(with_location(
                f"pad: padding ({lo}, {hi}) should be less than the input size {n} of dim "
                f"{d} for mode 'reflect' (shape {list(x.shape)})"))
        if mode == "circular" and (lo > n or hi > n):
            raise ArgumentError(with_location(
                f"pad: padding ({lo}, {hi}) may be at most the input size {n} of dim {d} "
                f"for mode 'circular' (shape {list(x.shape)})"))
        if n == 0 and lo + hi > 0:
            raise ShapeError(with_location(
                f"pad: cannot pad the empty dim {d} of shape {list(x.shape)} in mode {mode!r}"))
        # negative amounts crop; circular mode wraps around the part kept, reflect and
        # replicate read the whole dim (torch's choices)
        kept = np.arange(max(-lo, 0), n - max(-hi, 0)) if mode == "circular" else np.arange(n)
        m = len(kept)
        positions = (np.arange(-max(lo, 0), m + max(hi, 0)) if mode == "circular"
                     else np.arange(-lo, n + hi))
        if mode == "reflect":
            period = max(2 * (m - 1), 1)
            positions = np.abs(positions) % period
            positions = np.where(positions >= m, period - positions, positions)
        elif mode == "replicate":
            positions = np.clip(positions, 0, m - 1)
        else:
            positions = positions % m
        positions = kept[positions]
        x = ops.emit(hl.GatherOp, x, Tensor._wrap(positions.astype(np.int64)), axis=d)
    return x


def one_hot(indices: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot vectors along a new last dim (torch.nn.functional.one_hot)."""
    indices = _check_index_dtype(_t(indices), "one_hot")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer):
        raise ArgumentError(with_location(  # torch: TypeError
            f"one_hot: num_classes must be an int, got {num_classes!r:.30}"))
    if num_classes < 0:
        if indices.is_traced:
            raise TraceError(with_location(
                "one_hot: num_classes must be given inside lm.jit (it sets the result shape)"))
        num_classes = int(indices.numpy().max()) + 1 if indices.numel() else 0
    _check_static_index(indices, num_classes, -1, indices, "one_hot", low=0)
    from lamina.frontend.indexing import check_index_values  # (indexing imports this module)

    indices = check_index_values(indices, num_classes, "one_hot")  # values known at run time
    shape = indices.shape + (num_classes,)
    classes = ops.emit(hl.IotaOp, result_type=tensor_type(indices.dtype.ir_type, shape),
                       dim=len(shape) - 1)
    return ops.eq(ops.unsqueeze(indices, -1), classes).to(dtypes.int64)


def _diagonal_mask(x: Tensor, diagonal: int, lower: bool, op: str) -> Tensor:
    if x.ndim < 2:
        raise ShapeError(with_location(f"{op}: needs at least 2 dims, got {list(x.shape)}"))
    itype = tensor_type(dtypes.int64.ir_type, x.shape[-2:])
    rows = ops.emit(hl.IotaOp, result_type=itype, dim=0)
    cols = ops.emit(hl.IotaOp, result_type=itype, dim=1)
    offset = ops.sub(cols, rows)
    keep = ops.le(offset, diagonal) if lower else ops.ge(offset, diagonal)
    return ops.where(keep, x, ops.full((), _zero(x.dtype), dtype=x.dtype))


def _zero(dt: dtypes.DType) -> bool | int | float:
    return False if dt == dtypes.bool_ else (0.0 if dt.is_floating_point else 0)


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """Keep elements on and below the `diagonal`-th diagonal of the last two dims."""
    return _diagonal_mask(x, diagonal, True, "tril")


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """Keep elements on and above the `diagonal`-th diagonal of the last two dims."""
    return _diagonal_mask(x, diagonal, False, "triu")


__all__ = ["cat", "chunk", "concat", "concatenate", "embedding", "flip", "gather", "index_add",
           "index_fill", "index_select", "narrow", "one_hot", "pad", "roll", "scatter_add", "select", "split",
           "stack", "take_along_dim", "tril", "triu", "unbind"]
