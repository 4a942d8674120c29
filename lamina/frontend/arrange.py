"""Arranging and combining tensors as torch does, over existing ops: differences and
products (`diff`, `kron`, `tensordot`, `inner`, `cov`), flips and rotations, stacking and
splitting (`hstack`, `atleast_2d`, `block_diag`, `cartesian_prod`, `tensor_split`), the
`*_scatter` functions, and integration (`trapezoid`). Each is `lm.f` and, where torch has
one, the method `Tensor.f`."""

from __future__ import annotations

import builtins
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, DTypeError, ShapeError, like, with_location
from lamina.frontend import linalg as L
from lamina.frontend import math_extra as X
from lamina.frontend import movement as M
from lamina.frontend import ops as O
from lamina.frontend import scan, shape_extra
from lamina.frontend.ops import method
from lamina.frontend.spellings import _dim, _keep_shape, _t
from lamina.frontend.tensor import Tensor

__all__ = [
    "diff", "kron", "rot90", "fliplr", "flipud", "ravel", "tensordot", "hstack", "vstack",
    "dstack", "column_stack", "row_stack", "atleast_1d", "atleast_2d", "atleast_3d",
    "block_diag", "cartesian_prod", "combinations", "logspace", "isin", "diagflat",
    "tensor_split", "hsplit", "vsplit", "dsplit", "select_scatter", "slice_scatter",
    "diagonal_scatter", "renorm", "trapezoid", "trapz", "cumulative_trapezoid",
    "unravel_index", "dist", "inner", "vdot", "ger", "cov", "corrcoef", "chain_matmul",
]


# ---------------------------------------------------------------- differences and products


@method
def diff(input, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
    """The n-th forward difference along dim (logical xor for bools, as torch)."""
    x = _t(input)
    if x.ndim == 0:  # torch: RuntimeError
        raise like(ShapeError, RuntimeError)(with_location(
            "diff expects input to be at least one-dimensional"))
    d = _dim(x, dim, "diff")
    if n < 0:
        raise ArgumentError(with_location(f"order must be non-negative but got {n}"))
    parts = [_t(p) for p in (prepend,) if p is not None] + [x] + \
        [_t(a) for a in (append,) if a is not None]
    if len(parts) > 1:
        parts = [p if p.ndim else O.broadcast_to(p, _keep_shape(x.shape, d)) for p in parts]
        x = M.cat(parts, d)
    for _ in range(n):
        length = x.shape[d]
        if length == 0:
            break
        hi = M.narrow(x, d, 1, length - 1)
        lo = M.narrow(x, d, 0, length - 1)
        x = O.logical_xor(hi, lo) if x.dtype == dtypes.bool_ else O.sub(hi, lo)
    return x if x is not input else O.fresh(x)  # n = 0: a new tensor, as torch


@method
def kron(input, other) -> Tensor:
    """The Kronecker product: blocks other * input[i, j, ...]."""
    a, b = _t(input), _t(other)
    rank = builtins.max(a.ndim, b.ndim)
    a = O.reshape(a, (1,) * (rank - a.ndim) + tuple(a.shape))
    b = O.reshape(b, (1,) * (rank - b.ndim) + tuple(b.shape))
    # interleave: a[i0, 1, i1, 1, ...] * b[1, j0, 1, j1, ...]
    a2 = O.reshape(a, tuple(s for n in a.shape for s in (n, 1)))
    b2 = O.reshape(b, tuple(s for n in b.shape for s in (1, n)))
    out = O.mul(a2, b2)
    return O.reshape(out, tuple(p * q for p, q in zip(a.shape, b.shape, strict=True)))


@method
def rot90(input, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    x = _t(input)
    if len(dims) != 2:
        raise ArgumentError(with_location(f"expected total rotation dims == 2, but got dims = {len(dims)}"))
    if x.ndim < 2:
        raise like(ShapeError, RuntimeError)(with_location(
            f"expected total dims >= 2, but got total dims = {x.ndim}"))
    d0, d1 = (_dim(x, d, "rot90") for d in dims)
    if d0 == d1:
        raise ArgumentError(with_location(
            f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}"))
    k %= 4
    if k == 1:
        return O.transpose(M.flip(x, [d1]), d0, d1)
    if k == 2:
        return M.flip(x, [d0, d1])
    if k == 3:
        return M.flip(O.transpose(x, d0, d1), [d1])
    return O.fresh(x)


@method
def fliplr(input) -> Tensor:
    x = _t(input)
    if x.ndim < 2:
        raise like(ShapeError, RuntimeError)(with_location("Input must be >= 2-d."))
    return M.flip(x, [1])


@method
def flipud(input) -> Tensor:
    x = _t(input)
    if x.ndim < 1:
        raise like(ShapeError, RuntimeError)(with_location("Input must be >= 1-d."))
    return M.flip(x, [0])


@method
def ravel(input) -> Tensor:
    return O.reshape(_t(input), -1)


def tensordot(a, b, dims: Any = 2, out: Any = None) -> Tensor:
    """Contract dims of a with dims of b: an int n (a's last n with b's first n) or two
    lists of dims."""
    a, b = _t(a), _t(b)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int | np.integer):
        if dims < 0:
            raise ArgumentError(with_location(f"tensordot expects dims >= 0, but got dims={dims}"))
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    da = [_dim(a, d, "tensordot") for d in da]
    db = [_dim(b, d, "tensordot") for d in db]
    if len(da) != len(db):
        raise ArgumentError(with_location("both dimension lists should have same length"))
    for i, j in zip(da, db, strict=True):
        if a.shape[i] != b.shape[j]:
            raise like(ShapeError, RuntimeError)(with_location(
                f"contracted dimensions need to match, but first has size {a.shape[i]} in dim "
                f"{i} and second has size {b.shape[j]} in dim {j}"))
    free_a = [d for d in range(a.ndim) if d not in da]
    free_b = [d for d in range(b.ndim) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    am = O.reshape(O.permute(a, *free_a, *da), (math.prod(a.shape[d] for d in free_a), k))
    bm = O.reshape(O.permute(b, *db, *free_b), (k, math.prod(b.shape[d] for d in free_b)))
    return O.reshape(L.matmul(am, bm), tuple(a.shape[d] for d in free_a) +
                     tuple(b.shape[d] for d in free_b))


@method
def inner(input, other) -> Tensor:
    a, b = _t(input), _t(other)
    if a.ndim == 0 or b.ndim == 0:
        return O.mul(a, b)
    return tensordot(a, b, ([-1], [-1]))


@method
def vdot(input, other) -> Tensor:
    a, b = _t(input), _t(other)
    if a.ndim != 1 or b.ndim != 1:
        raise like(ShapeError, RuntimeError)(with_location(
            f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors"))
    return L.dot(a, b)


@method
def ger(input, vec2) -> Tensor:
    return L.outer(input, vec2)


def chain_matmul(*matrices) -> Tensor:
    out = matrices[0]
    for m in matrices[1:]:
        out = L.matmul(out, m)
    return out


@method
def dist(input, other, p: float = 2) -> Tensor:
    return X.vector_norm(O.sub(input, other), p)


@method
def cov(input, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Tensor:
    """The covariance of the rows (variables) over the columns (observations)."""
    x = _t(input)
    if x.ndim > 2:
        raise like(ShapeError, RuntimeError)(with_location(
            f"cov(): expected input to have two or fewer dimensions but got an input with {x.ndim} dimensions"))
    if x.ndim < 2:
        x = O.reshape(x, (1, -1))
    if not x.dtype.is_floating_point:
        x = x.to(dtypes.default_float())
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = _t(fweights).to(x.dtype)
    if aweights is not None:
        aw = _t(aweights).to(x.dtype)
        w = aw if w is None else O.mul(w, aw)
    if w is None:
        mean = O.mean(x, 1, keepdim=True)
        total = O.full((), float(n), dtype=x.dtype)
        norm = O.sub(total, correction)
        xc = O.sub(x, mean)
        c = O.div(L.matmul(xc, O.transpose(xc, 0, 1)), O.clamp(norm, 0, None))
    else:
        total = O.sum(w)
        mean = O.div(O.sum(O.mul(x, w), 1, keepdim=True), total)
        if aweights is None or correction == 0:
            norm = O.sub(total, correction)
        else:
            norm = O.sub(total, O.div(O.mul(O.sum(O.mul(w, _t(aweights).to(x.dtype))), correction), total))
        xc = O.sub(x, mean)
        c = O.div(L.matmul(O.mul(xc, w), O.transpose(xc, 0, 1)), O.clamp(norm, 0, None))
    return O.squeeze(c) if _t(input).ndim < 2 or x.shape[0] == 1 else c


@method
def corrcoef(input) -> Tensor:
    c = cov(input)
    if c.ndim == 0:
        return O.div(c, c)
    d = O.sqrt(shape_extra.diagonal(c))
    out = O.div(O.div(c, O.unsqueeze(d, 1)), O.unsqueeze(d, 0))
    return O.clamp(out, -1, 1)


# ---------------------------------------------------------------- stacking and splitting


@method
def atleast_1d(*tensors) -> Any:
    return _atleast(tensors, 1)


@method
def atleast_2d(*tensors) -> Any:
    return _atleast(tensors, 2)


@method
def atleast_3d(*tensors) -> Any:
    return _atleast(tensors, 3)


def _atleast(tensors: Sequence[Any], rank: int) -> Any:
    single = len(tensors) == 1 and not isinstance(tensors[0], list | tuple)
    items = tensors if not (len(tensors) == 1 and isinstance(tensors[0], list | tuple)) \
        else tensors[0]
    out = []
    for t in items:
        x = _t(t)
        if x.ndim >= rank:
            out.append(x)
        elif rank == 3 and x.ndim == 2:
            out.append(O.unsqueeze(x, -1))
        elif rank == 3 and x.ndim == 1:
            out.append(O.reshape(x, (1, x.shape[0], 1)))
        else:
            out.append(O.reshape(x, (1,) * (rank - x.ndim) + tuple(x.shape)))
    return out[0] if single else tuple(out)


def hstack(tensors: Sequence[Any]) -> Tensor:
    ts = _atleast(tuple(tensors), 1) if len(tensors) != 1 else (_atleast(tuple(tensors), 1),)
    return M.cat(list(ts), 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Any]) -> Tensor:
    ts = _atleast(tuple(tensors), 2) if len(tensors) != 1 else (_atleast(tuple(tensors), 2),)
    return M.cat(list(ts), 0)


row_stack = vstack


def dstack(tensors: Sequence[Any]) -> Tensor:
    ts = _atleast(tuple(tensors), 3) if len(tensors) != 1 else (_atleast(tuple(tensors), 3),)
    return M.cat(list(ts), 2)


def column_stack(tensors: Sequence[Any]) -> Tensor:
    cols = []
    for t in tensors:
        x = _t(t)
        cols.append(O.reshape(x, (-1, 1)) if x.ndim <= 1 else x)
    return M.cat(cols, 1)


def block_diag(*tensors) -> Tensor:
    """The tensors (0-, 1- or 2-d) as blocks on a diagonal, zeros elsewhere."""
    blocks = []
    for t in tensors:
        x = _t(t)
        if x.ndim > 2:
            raise like(ShapeError, RuntimeError)(with_location(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input "
                f"{len(blocks)} has {x.ndim} dimensions"))
        blocks.append(O.reshape(x, (1,) * (2 - x.ndim) + tuple(x.shape)))
    if not blocks:
        return O.zeros((1, 0))
    dt = blocks[0].dtype
    for b in blocks[1:]:
        dt = O.result_dtype(O.zeros((1,), dtype=dt), b)
    cols = builtins.sum(b.shape[1] for b in blocks)
    rows, offset = [], 0
    for b in blocks:
        r, c = b.shape
        row = [b.to(dt)]
        if offset:
            row.insert(0, O.zeros((r, offset), dtype=dt))
        if cols - offset - c:
            row.append(O.zeros((r, cols - offset - c), dtype=dt))
        rows.append(M.cat(row, 1) if len(row) > 1 else row[0])
        offset += c
    return M.cat(rows, 0)


def cartesian_prod(*tensors) -> Tensor:
    ts = [_t(t) for t in tensors]
    for t in ts:
        if t.ndim != 1:
            raise like(ShapeError, RuntimeError)(with_location(
                f"Expect a 1D vector, but got shape {list(t.shape)}"))
    if len(ts) == 1:
        return ts[0]
    grids = shape_extra.meshgrid(*ts, indexing="ij")
    return M.stack([O.reshape(g, -1) for g in grids], 1)


def combinations(input, r: int = 2, with_replacement: bool = False) -> Tensor:
    """Rows of r elements of a 1-d tensor, in itertools' order."""
    x = _t(input)
    if x.ndim != 1:
        raise like(ShapeError, RuntimeError)(with_location(
            f"Expect a 1D vector, but got shape {list(x.shape)}"))
    if r < 0:
        raise ArgumentError(with_location(f"Expect a non-negative number, but got {r}"))
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    rows = list(pick(range(x.shape[0]), r))
    if r == 0 or not rows:
        return O.zeros((0,) if r == 0 else (0, r), dtype=x.dtype)
    index = O.tensor(np.asarray(rows, np.int64))
    return O.reshape(M.index_select(x, 0, O.reshape(index, -1)), (len(rows), r))


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, dtype: Any = None,
             layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float()
    exps = O.linspace(start, end, steps, dtype=dtypes.float64)
    out = O.pow(O.full((), float(base), dtype=dtypes.float64), exps)
    return out.to(dt).requires_grad_(requires_grad)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False
         ) -> Tensor:
    e, t = _t(elements), _t(test_elements)
    flat = O.reshape(t, -1)
    if flat.shape[0] == 0:
        found = O.zeros(e.shape, dtype=dtypes.bool_)
    else:
        eq = O.eq(O.unsqueeze(e, -1), flat)
        found = O.any(eq, -1)
    return O.logical_not(found) if invert else found


@method
def diagflat(input, offset: int = 0) -> Tensor:
    return shape_extra.diag(O.reshape(_t(input), -1), offset)


@method
def tensor_split(input, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into n nearly equal parts (the first n % size one larger) or at indices."""
    x = _t(input)
    if x.ndim == 0:
        raise like(ShapeError, RuntimeError)(with_location(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"))
    d = _dim(x, dim, "tensor_split")
    n = x.shape[d]
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        spec = spec.tolist()
    if isinstance(spec, int | np.integer):
        sections = int(spec)
        if sections <= 0:
            raise ArgumentError(with_location(
                f"number of sections must be larger than 0, got {sections}"))
        size, extra = divmod(n, sections)
        bounds, start = [], 0
        for i in range(sections):
            stop = start + size + (1 if i < extra else 0)
            bounds.append((start, stop))
            start = stop
    else:
        cuts = [int(i) for i in spec]
        edges = [0, *cuts, n]
        bounds = []
        for lo, hi in itertools.pairwise(edges):
            lo_c = builtins.min(builtins.max(lo if lo >= 0 else lo + n, 0), n)
            hi_c = builtins.min(builtins.max(hi if hi >= 0 else hi + n, 0), n)
            bounds.append((lo_c, builtins.max(hi_c, lo_c)))
    return tuple(M.narrow(x, d, lo, hi - lo) if hi > lo else
                 O.zeros(tuple(0 if i == d else s for i, s in enumerate(x.shape)), dtype=x.dtype)
                 for lo, hi in bounds)


def _split_along(op: str, input, sections: Any, dim: int, min_rank: int) -> tuple[Tensor, ...]:
    x = _t(input)
    if x.ndim < min_rank:
        raise like(ShapeError, RuntimeError)(with_location(
            f"torch.{op} requires a tensor with at least {min_rank} dimension, but got a "
            f"tensor with {x.ndim} dimensions!"))
    if isinstance(sections, int | np.integer) and x.shape[dim] % int(sections):
        raise like(ShapeError, RuntimeError)(with_location(
            f"torch.{op} attempted to split along dimension {dim}, but the size of the "
            f"dimension {x.shape[dim]} is not divisible by the split_size {sections}!"))
    return tensor_split(x, sections, dim)


@method
def hsplit(input, sections: Any) -> tuple[Tensor, ...]:
    x = _t(input)
    return _split_along("hsplit", x, sections, 0 if x.ndim == 1 else 1, 1)


@method
def vsplit(input, sections: Any) -> tuple[Tensor, ...]:
    return _split_along("vsplit", input, sections, 0, 2)


@method
def dsplit(input, sections: Any) -> tuple[Tensor, ...]:
    return _split_along("dsplit", input, sections, 2, 3)


# ---------------------------------------------------------------- *_scatter


def _scatter_into(input, src, index: tuple) -> Tensor:
    from lamina.frontend import indexing

    x = _t(input)
    return indexing.setitem(x, index, _t(src).to(x.dtype))


@method
def select_scatter(input, src, dim: int, index: int) -> Tensor:
    x = _t(input)
    d = _dim(x, dim, "select_scatter")
    return _scatter_into(x, src, (slice(None),) * d + (index,))


@method
def slice_scatter(input, src, dim: int = 0, start: int | None = None, end: int | None = None,
                  step: int = 1) -> Tensor:
    x = _t(input)
    d = _dim(x, dim, "slice_scatter")
    return _scatter_into(x, src, (slice(None),) * d + (slice(start, end, step),))


@method
def diagonal_scatter(input, src, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """input with src written on its diagonal (as `diagonal(input, offset, dim1, dim2)`)."""
    x = _t(input)
    d1, d2 = _dim(x, dim1, "diagonal_scatter"), _dim(x, dim2, "diagonal_scatter")
    rows, cols = x.shape[d1], x.shape[d2]
    length = shape_extra._diagonal_length(rows, cols, offset)
    s = _t(src).to(x.dtype)
    expected = tuple(n for i, n in enumerate(x.shape) if i not in (d1, d2)) + (length,)
    if tuple(s.shape) != expected:
        raise like(ShapeError, RuntimeError)(with_location(
            f"diagonal_scatter: src of shape {list(s.shape)} does not match the diagonal's "
            f"shape {list(expected)}"))
    # a mask of the diagonal positions, and src placed there by diag_embed
    placed = shape_extra.diag_embed(s, offset, -2, -1)
    r0, c0 = builtins.max(-offset, 0), builtins.max(offset, 0)
    placed = placed[..., :rows, :cols] if placed.shape[-2] >= rows else placed
    pad_r, pad_c = rows - placed.shape[-2], cols - placed.shape[-1]
    if pad_r or pad_c:
        placed = M.pad(placed, (0, pad_c, 0, pad_r))
    mask = np.zeros((rows, cols), bool)
    for k in range(length):
        mask[r0 + k, c0 + k] = True
    moved = shape_extra.movedim(x, (d1, d2), (-2, -1))
    out = O.where(O.tensor(mask), placed, moved)
    return shape_extra.movedim(out, (-2, -1), (d1, d2))


@method
def renorm(input, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along dim rescaled so its p-norm is at most maxnorm."""
    x = _t(input)
    d = _dim(x, dim, "renorm")
    others = [i for i in range(x.ndim) if i != d]
    norms = X.vector_norm(x, p, others, keepdim=True)
    scale = O.where(O.gt(norms, maxnorm), O.div(maxnorm, O.add(norms, 1e-7)),
                    O.ones((), dtype=x.dtype))
    return O.mul(x, scale)


# ---------------------------------------------------------------- integration, indices


def trapezoid(y, x: Any = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    y = _t(y)
    d = _dim(y, dim, "trapezoid")
    n = y.shape[d]
    if n == 0:
        return O.sum(y, d)
    avg = O.mul(O.add(M.narrow(y, d, 1, n - 1), M.narrow(y, d, 0, n - 1)), 0.5)
    if x is not None:
        xs = _t(x)
        spacing = diff(xs, dim=-1 if xs.ndim == 1 else d)
        if xs.ndim == 1:
            spacing = O.reshape(spacing, (-1,) + (1,) * (y.ndim - 1 - d))
        return O.sum(O.mul(avg, spacing), d)
    return O.mul(O.sum(avg, d), 1.0 if dx is None else dx)


trapz = trapezoid


def cumulative_trapezoid(y, x: Any = None, *, dx: float | None = None, dim: int = -1
                         ) -> Tensor:
    y = _t(y)
    d = _dim(y, dim, "cumulative_trapezoid")
    n = y.shape[d]
    avg = O.mul(O.add(M.narrow(y, d, 1, n - 1), M.narrow(y, d, 0, n - 1)), 0.5) \
        if n > 1 else M.narrow(y, d, 0, 0)
    if x is not None:
        xs = _t(x)
        spacing = diff(xs, dim=-1 if xs.ndim == 1 else d)
        if xs.ndim == 1:
            spacing = O.reshape(spacing, (-1,) + (1,) * (y.ndim - 1 - d))
        avg = O.mul(avg, spacing)
    elif dx is not None:
        avg = O.mul(avg, dx)
    return scan.cumsum(avg, d)


def unravel_index(indices, shape: Any) -> tuple[Tensor, ...]:
    idx = _t(indices)
    if idx.dtype.category != 1:
        raise like(DTypeError, TypeError)(with_location(
            f"expected 'indices' to be integer dtype, but got {idx.dtype.name}"))
    dims = (int(shape),) if isinstance(shape, int | np.integer) else tuple(int(s) for s in shape)
    out, rest = [], idx.to(dtypes.int64)
    for size in reversed(dims):
        out.append(O.remainder(rest, size))
        rest = O.floor_divide(rest, size)
    return tuple(reversed(out))
