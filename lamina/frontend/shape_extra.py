"""Shape ops with torch's names, written over reshape, permute, broadcast, slicing and
index_select (so each is differentiable and runs on every backend): `movedim`,
`unflatten`, `diagonal`, `diag`, `diag_embed`, `tril_indices`, `Tensor.unfold`,
`meshgrid`, `broadcast_tensors`, `Tensor.repeat` and `tile`.

Diagonals use one layout trick: in a row-major (R, C) matrix flattened to R*C
elements, the diagonal with offset k is the strided slice starting at k (or -k*C)
with step C + 1."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, DimError, ShapeError, like, with_location
from lamina.frontend import ops as O
from lamina.frontend.ops import METHODS, method
from lamina.frontend.tensor import Tensor

__all__ = [
    "movedim", "moveaxis", "swapdims", "unflatten", "diagonal", "diag", "diag_embed",
    "tril_indices", "triu_indices", "meshgrid", "broadcast_tensors", "tile",
]


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else O.tensor(x)


def _ints(v: Any) -> tuple[int, ...]:
    return (int(v),) if isinstance(v, int | np.integer) else tuple(int(d) for d in v)


@method
def movedim(input, source, destination):
    """Move the dims `source` to the positions `destination`; the others keep their order."""
    x = _t(input)
    src, dst = _ints(source), _ints(destination)
    if len(src) != len(dst):
        raise ArgumentError(with_location(
            f"movedim: source {list(src)} and destination {list(dst)} differ in length"))
    src = tuple(O._dim(x, d, "movedim") for d in src)
    dst = tuple(O._dim(x, d, "movedim") for d in dst)
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise DimError(with_location(
            f"movedim: repeated dim in source {list(src)} or destination {list(dst)}"))
    rest = iter(d for d in range(x.ndim) if d not in src)
    where = dict(zip(dst, src, strict=True))
    perm = [where[i] if i in where else next(rest) for i in range(x.ndim)]
    return O.permute(x, *perm) if perm != list(range(x.ndim)) else O.fresh(x)


moveaxis = METHODS["moveaxis"] = movedim


@method
def swapdims(input, dim0: int, dim1: int):
    return O.transpose(_t(input), dim0, dim1)


@method
def unflatten(input, dim: int, sizes):
    """Split `dim` into `sizes` (one of them may be -1)."""
    x = _t(input)
    d = O._dim(x, dim, "unflatten")
    sizes = _ints(sizes)
    if not sizes:
        raise ArgumentError(with_location("unflatten: sizes must not be empty"))
    n = x.shape[d]
    if sizes.count(-1) > 1:
        raise ArgumentError(with_location(f"unflatten: at most one -1 in sizes {list(sizes)}"))
    known = int(np.prod([s for s in sizes if s != -1]))
    if -1 in sizes:
        if known == 0 or n % known:
            raise ShapeError(with_location(
                f"unflatten: dim {dim} of size {n} cannot be split into {list(sizes)}"))
        sizes = tuple(n // known if s == -1 else s for s in sizes)
    elif known != n:
        raise ShapeError(with_location(
            f"unflatten: sizes {list(sizes)} do not multiply to dim {dim}'s size {n}"))
    return O.reshape(x, x.shape[:d] + sizes + x.shape[d + 1:])


def _diagonal_length(rows: int, cols: int, offset: int) -> int:
    return builtins.max(0, builtins.min(rows, cols - offset) if offset >= 0
                        else builtins.min(rows + offset, cols))


@method
def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The diagonal of the (dim1, dim2) planes, as a last dim (torch.diagonal)."""
    from lamina.frontend.indexing import getitem

    x = _t(input)
    d1, d2 = O._dim(x, dim1, "diagonal"), O._dim(x, dim2, "diagonal")
    if d1 == d2:
        raise like(DimError, RuntimeError)(with_location(  # torch: RuntimeError
            f"diagonal: dim1 and dim2 are the same dim ({dim1})"))
    planes = movedim(x, (d1, d2), (-2, -1))
    rows, cols = planes.shape[-2:]
    n = _diagonal_length(rows, cols, offset)
    start = offset if offset >= 0 else -offset * cols
    flat = O.reshape(planes, planes.shape[:-2] + (rows * cols,))
    if n == 0:
        return getitem(flat, (Ellipsis, slice(0, 0)))
    return getitem(flat, (Ellipsis, slice(start, start + (n - 1) * (cols + 1) + 1, cols + 1)))


@method
def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """Matrices with the last dim of `input` on their `offset` diagonal, in the planes
    (dim1, dim2) of the result (one dim more than input)."""
    x = _t(input)
    if x.ndim == 0:
        raise ShapeError(with_location("diag_embed: needs a tensor of at least 1 dim"))
    ndim = x.ndim + 1
    d1, d2 = (_out_dim(d, ndim) for d in (dim1, dim2))
    if d1 == d2:
        raise like(DimError, RuntimeError)(with_location(  # torch: RuntimeError
            f"diag_embed: dim1 and dim2 are the same dim ({dim1})"))
    batch, length = x.shape[:-1], x.shape[-1]
    n = length + builtins.abs(offset)
    start = offset if offset >= 0 else -offset * n
    # each element followed by n zeros: element i lands at start + i * (n + 1)
    padded = O.reshape(_cat_zeros(O.unsqueeze(x, -1), n, -1), batch + (length * (n + 1),))
    flat = _cat_zeros(padded, start, -1, before=True)
    size = start + length * (n + 1)
    if size >= n * n:
        from lamina.frontend.indexing import getitem

        flat = getitem(flat, (Ellipsis, slice(0, n * n)))
    else:
        flat = _cat_zeros(flat, n * n - size, -1)
    out = O.reshape(flat, batch + (n, n))
    return movedim(out, (-2, -1), (d1, d2))


def _out_dim(d: int, ndim: int) -> int:
    if not -ndim <= d < ndim:
        raise DimError(with_location(f"diag_embed: dim {d} is out of range for {ndim} dims"))
    return d % ndim


def _cat_zeros(x: Tensor, count: int, dim: int, before: bool = False) -> Tensor:
    """x with `count` zeros appended (or prepended) along `dim`."""
    if count == 0:
        return x
    from lamina.frontend.movement import cat

    shape = list(x.shape)
    shape[dim] = count
    zeros = O.zeros(*shape, dtype=x.dtype)
    return cat([zeros, x] if before else [x, zeros], dim)


@method
def diag(input, diagonal: int = 0):
    """A 1-D input on the `diagonal` of a square matrix, or a 2-D input's diagonal."""
    x = _t(input)
    if x.ndim == 1:
        return diag_embed(x, diagonal)
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal)
    raise like(ShapeError, RuntimeError)(with_location(
        f"diag: expected a 1-D or 2-D tensor, got shape {list(x.shape)}"))


def _indices(fn, row: int, col: int, offset: int, dtype: Any, op: str) -> Tensor:
    if row < 0 or col < 0:
        raise ArgumentError(with_location(f"{op}: row and col must be >= 0, got {row}, {col}"))
    dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    if dt not in (dtypes.int32, dtypes.int64):
        raise like(ArgumentError, RuntimeError)(with_location(
            f"{op}: dtype must be int32 or int64, got {dt.name}"))
    rows, cols = fn(row, offset, col)
    return Tensor._wrap(np.stack([rows, cols]).astype(dt.np_dtype).reshape(2, -1), dtype=dt)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    """The (2, N) coordinates of the lower triangle (row-major order)."""
    return _indices(np.tril_indices, row, col, offset, dtype, "tril_indices")


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    """The (2, N) coordinates of the upper triangle (row-major order)."""
    return _indices(np.triu_indices, row, col, offset, dtype, "triu_indices")


def unfold(input, dimension: int, size: int, step: int):
    """Tensor.unfold: the windows of `size` every `step` along `dimension`, as a new
    last dim (`dimension` becomes the window count)."""
    from lamina.frontend.movement import index_select

    x = _t(input)
    if x.ndim == 0:
        if size > 1 or dimension not in (0, -1):
            raise ShapeError(with_location(f"unfold: size {size} of a 0-d tensor (at most 1)"))
        return O.reshape(x, (1,))
    d = O._dim(x, dimension, "unfold")
    length = x.shape[d]
    if size < 0 or size > length:
        raise like(ShapeError, RuntimeError)(with_location(
            f"unfold: size {size} exceeds dim {dimension} of size {length}"))
    if step <= 0:
        raise like(ArgumentError, RuntimeError)(with_location(
            f"unfold: step must be positive, got {step}"))
    count = (length - size) // step + 1
    idx = (np.arange(count)[:, None] * step + np.arange(size)[None, :]).reshape(-1)
    picked = index_select(x, d, Tensor._wrap(idx.astype(np.int64)))
    windows = O.reshape(picked, x.shape[:d] + (count, size) + x.shape[d + 1:])
    return movedim(windows, d + 1, -1)


METHODS["unfold"] = unfold


def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids of 0-d or 1-D tensors: 'ij' (the default) puts tensor i along dim
    i, 'xy' swaps the first two dims."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ArgumentError(with_location(
            f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}"))
    ts = [_t(t) for t in tensors]
    if not ts:
        raise ArgumentError(with_location("meshgrid: expects at least one tensor"))
    for t in ts:
        if t.ndim > 1:
            raise ShapeError(with_location(
                f"meshgrid: expects 0-d or 1-D tensors, got shape {list(t.shape)}"))
    if len({t.dtype for t in ts}) > 1:
        raise like(ArgumentError, RuntimeError)(with_location(
            "meshgrid: expects all tensors to have the same dtype"))
    pos = list(range(len(ts)))
    if indexing == "xy" and len(ts) >= 2:
        pos[0], pos[1] = 1, 0
    sizes = [0] * len(ts)
    for t, p in zip(ts, pos, strict=True):
        sizes[p] = t.numel()
    out = []
    for t, p in zip(ts, pos, strict=True):
        shape = [1] * len(ts)
        shape[p] = t.numel()
        out.append(O.broadcast_to(O.reshape(t, tuple(shape)), tuple(sizes)))
    return tuple(out)


def broadcast_tensors(*tensors):
    ts = [_t(t) for t in tensors]
    shape = O.broadcast_shapes(*(t.shape for t in ts), op="broadcast_tensors")
    return tuple(O.broadcast_to(t, shape) for t in ts)


def repeat(input, *sizes):
    """Tensor.repeat: the tensor tiled sizes[i] times along dim i (sizes may add leading
    dims)."""
    x = _t(input)
    if len(sizes) == 1 and isinstance(sizes[0], Sequence | np.ndarray):
        sizes = tuple(sizes[0])
    reps = _ints(sizes)
    if len(reps) < x.ndim:
        raise like(ShapeError, RuntimeError)(with_location(
            f"repeat: {len(reps)} repeat counts for a tensor of {x.ndim} dims (need at least "
            f"as many as dims)"))
    if builtins.any(r < 0 for r in reps):
        raise ArgumentError(with_location(f"repeat: negative count in {list(reps)}"))
    shape = (1,) * (len(reps) - x.ndim) + x.shape
    inter = tuple(v for pair in zip((1,) * len(shape), shape, strict=True) for v in pair)
    big = tuple(v for pair in zip(reps, shape, strict=True) for v in pair)
    out = O.broadcast_to(O.reshape(x, inter), big)
    return O.reshape(out, tuple(r * s for r, s in zip(reps, shape, strict=True)))


METHODS["repeat"] = repeat


@method
def tile(input, dims):
    x = _t(input)
    reps = _ints(dims)
    return repeat(x, (1,) * (x.ndim - len(reps)) + reps)
