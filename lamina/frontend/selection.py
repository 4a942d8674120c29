"""Data-dependent selection with torch's signatures: nonzero, argwhere, masked_select,
where(cond), unique, unique_consecutive, bincount, repeat_interleave (tensor
repeats); and the static-shape ones beside them that compile: searchsorted,
bucketize, histc, multinomial.

An op whose result's shape depends on the values of its input cannot be part of a
compiled program, whose shapes are fixed when it is traced: eagerly it reads its
input (running what is pending) and builds the result from the values; inside
`lm.jit` it raises a `TraceError` (a RuntimeError) that names the op and says why.
Where a result is differentiable (masked_select, repeat_interleave), it is a gather
at the positions the values chose, so gradients flow as torch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina import dtypes
from lamina.dialects import hl
from lamina.errors import ArgumentError, DTypeError, ShapeError, TraceError, with_location
from lamina.frontend import ops
from lamina.frontend.tensor import Tensor


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(x)


def _values(x: Tensor, op: str, why: str = "its result's shape depends on the values "
            "of its input") -> np.ndarray:
    """The values of `x` now; inside lm.jit, the data-dependent error."""
    if x.is_traced:
        raise TraceError(with_location(
            f"{op}: cannot run inside lm.jit: {why}, and a compiled program's shapes are "
            f"fixed when it is traced (input shape {list(x.shape)}). Call {op} outside the "
            "jitted function, or use a static-shape form (e.g. torch.where(cond, a, b))"))
    return np.asarray(x.numpy())


def _int64(a: np.ndarray) -> Tensor:
    return Tensor._wrap(np.array(a, dtype=np.int64, order="C"), dtype=dtypes.int64)  # 0-d too


def _gather_flat(x: Tensor, positions: np.ndarray) -> Tensor:
    return ops.emit(hl.GatherOp, ops.reshape(x, (x.numel(),)), _int64(positions), axis=0)


def nonzero(input: Any, *, as_tuple: bool = False, out: Any = None) -> Any:
    """torch.nonzero: the indices of the nonzero elements, [n, ndim] int64 in row-major
    order (as_tuple: one 1-d tensor per dim; a 0-d input counts as 1-d)."""
    return _nonzero(_t(input), as_tuple, "nonzero")


def _nonzero(x: Tensor, as_tuple: bool, op: str) -> Any:
    a = _values(x, op)
    if as_tuple:
        return tuple(_int64(i) for i in np.nonzero(np.atleast_1d(a)))
    return _int64(np.argwhere(a))  # [n, ndim], also for a 0-d input ([1 or 0, 0])


def argwhere(input: Any) -> Tensor:
    """torch.argwhere: nonzero(input)."""
    return _nonzero(_t(input), False, "argwhere")


def masked_select(input: Any, mask: Any, *, out: Any = None) -> Tensor:
    """torch.masked_select: the elements where `mask` (broadcast with input) is True, as
    a 1-d tensor; differentiable in input."""
    x, mask = _t(input), _t(mask)
    if mask.dtype != dtypes.bool_:
        raise DTypeError(with_location(
            f"masked_select: mask must be a bool tensor, got {mask.dtype.name}"))
    shape = ops.broadcast_shapes(x.shape, mask.shape, op="masked_select")
    m = _values(ops.broadcast_to(mask, shape), "masked_select")
    return _gather_flat(ops.broadcast_to(x, shape), np.flatnonzero(m))


def where_one(condition: Any) -> tuple[Tensor, ...]:
    """torch.where(condition): nonzero(condition, as_tuple=True)."""
    return nonzero(condition, as_tuple=True)


def _unique_result(x: Tensor, values: np.ndarray, inverse: np.ndarray, counts: np.ndarray,
                   return_inverse: bool, return_counts: bool, inverse_shape) -> Any:
    out: list[Tensor] = [Tensor._wrap(np.array(values, order="C"), dtype=x.dtype)]
    if return_inverse:
        out.append(_int64(inverse.reshape(inverse_shape)))
    if return_counts:
        out.append(_int64(counts))
    return out[0] if len(out) == 1 else tuple(out)


def unique(input: Any, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None) -> Any:
    """torch.unique: the distinct elements (sorted), with optionally the inverse indices
    and the counts; with `dim`, the distinct slices along it."""
    x = _t(input)
    a = _values(x, "unique")
    if dim is None:
        values, inverse, counts = np.unique(a.reshape(-1), return_inverse=True,
                                            return_counts=True)
        return _unique_result(x, values, inverse, counts, return_inverse, return_counts,
                              a.shape)
    d = ops._dim(x, dim, "unique")
    values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=d)
    return _unique_result(x, values, inverse, counts, return_inverse, return_counts, (-1,))


def unique_consecutive(input: Any, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None) -> Any:
    """torch.unique_consecutive: each run of equal consecutive elements (slices along
    `dim`) kept once; inverse indices and counts as unique's."""
    x = _t(input)
    a = _values(x, "unique_consecutive")
    if dim is None:
        flat, d, lines = a.reshape(-1), 0, a.reshape(-1, 1)
    else:
        d = ops._dim(x, dim, "unique_consecutive")
        flat = a
        moved = np.moveaxis(a, d, 0)
        lines = moved.reshape(moved.shape[0], int(np.prod(moved.shape[1:])))
    n = lines.shape[0]
    starts = np.ones(n, dtype=bool)
    if n > 1:
        starts[1:] = (lines[1:] != lines[:-1]).any(axis=1)
    first = np.flatnonzero(starts)
    counts = np.diff(np.append(first, n))
    inverse = np.cumsum(starts) - 1
    values = np.take(flat, first, axis=d) if dim is not None else flat[first]
    shape = a.shape if dim is None else (-1,)
    return _unique_result(x, values, inverse, counts, return_inverse, return_counts, shape)


def bincount(input: Any, weights: Any = None, minlength: int = 0) -> Tensor:
    """torch.bincount: counts (or summed weights) of each value of a 1-d non-negative
    integer tensor; length max(input) + 1, at least `minlength`."""
    x = _t(input)
    if x.ndim != 1 or x.dtype.category != 1:
        raise ShapeError(with_location(
            f"bincount: needs a 1-d integer tensor, got shape {list(x.shape)} and dtype "
            f"{x.dtype.name}"))
    a = _values(x, "bincount", "its length is the largest value of its input plus one")
    if a.size and a.min() < 0:
        raise ArgumentError(with_location("bincount: input must be non-negative"))
    n = builtins_max(int(a.max()) + 1 if a.size else 0, int(minlength))
    positions = _int64(a)
    if weights is None:
        ones = ops.full(x.shape, 1, dtype=dtypes.int64)
        return ops.emit(hl.ScatterAddOp, positions, ones, result_type=_type(dtypes.int64, n),
                        axis=0)
    w = _t(weights)
    dt = dtypes.float32 if w.dtype == dtypes.float32 else (
        w.dtype if w.dtype.is_floating_point else dtypes.float64)
    return ops.emit(hl.ScatterAddOp, positions, w.to(dt), result_type=_type(dt, n), axis=0)


def builtins_max(a: int, b: int) -> int:
    return a if a > b else b


def _type(dt: dtypes.DType, n: int):
    from lamina.dialects.hl.base import tensor_type

    return tensor_type(dt.ir_type, (n,))


def repeat_interleave(input: Any, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """torch.repeat_interleave: each element (slice along `dim`) repeated `repeats`
    times (an int, or a tensor with one count per element); without `dim`, of the
    flattened input. With a tensor `input` only: the indices repeated by their values."""
    if repeats is None:  # repeat_interleave(repeats): arange(n) repeated
        counts = _t(input)
        return repeat_interleave(ops.arange(counts.numel()), counts, 0)
    x = _t(input)
    if dim is None:
        x, d = ops.reshape(x, (x.numel(),)), 0
    else:
        d = ops._dim(x, dim, "repeat_interleave")
    if x.ndim == 0:
        x = ops.reshape(x, (1,))
    n = x.shape[d]
    if isinstance(repeats, Tensor) and repeats.numel() != 1 or isinstance(
            repeats, list | tuple | np.ndarray):
        r = _values(_t(repeats), "repeat_interleave",
                    "with a tensor of repeats its length is their sum").reshape(-1)
        if r.size != n:
            raise ShapeError(with_location(
                f"repeat_interleave: {r.size} repeats for a dim of size {n}"))
    else:
        value = repeats.item() if isinstance(repeats, Tensor) else repeats
        r = np.full(n, int(value))
    if (r < 0).any():
        raise ArgumentError(with_location("repeat_interleave: repeats must be non-negative"))
    index = _int64(np.repeat(np.arange(n), r))
    return ops.emit(hl.GatherOp, x, index, axis=d)


# ---------------------------------------------------------------- static shapes


def searchsorted(sorted_sequence: Any, input: Any, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter: Any = None,
                 out: Any = None) -> Tensor:
    """torch.searchsorted: for each value, the index where it would be inserted into the
    sorted innermost dim of `sorted_sequence` (the first such, or the last with
    right=True / side='right'); a NaN value goes last. Compiled: a count of the
    elements before it (one fused reduction)."""
    seq = _t(sorted_sequence)
    scalar = not isinstance(input, Tensor) and np.ndim(input) == 0
    v = ops.full((), input, seq.dtype) if scalar else _t(input)
    if side is not None:
        if side not in ("left", "right") or (right and side == "left"):
            raise ArgumentError(with_location(
                f"searchsorted: side must be 'left' or 'right' (and agree with right=), got "
                f"{side!r}"))
        right = side == "right"
    if sorter is not None:
        from lamina.frontend.movement import take_along_dim

        seq = take_along_dim(seq, _t(sorter), -1)
    if seq.ndim == 0:
        raise ShapeError(with_location("searchsorted: sorted_sequence must not be 0-d"))
    if seq.ndim > 1 and seq.shape[:-1] != v.shape[:-1]:
        raise ShapeError(with_location(
            f"searchsorted: sorted_sequence {list(seq.shape)} and input {list(v.shape)} must "
            "agree in all but the last dim"))
    dt = ops.result_dtype(seq, v)
    seq, v = seq.to(dt), v.to(dt)
    if seq.ndim == 1:
        s = ops.reshape(seq, (1,) * v.ndim + seq.shape)
        vv = ops.reshape(v, v.shape + (1,))
    else:
        s = ops.reshape(seq, seq.shape[:-1] + (1, seq.shape[-1]))
        vv = ops.reshape(v, v.shape + (1,))
    before = ops.le(s, vv) if right else ops.lt(s, vv)
    count = ops.sum(before.to(dtypes.int64), -1)
    if dt.is_floating_point:
        count = ops.where(ops.ne(v, v), ops.full((), seq.shape[-1], dtypes.int64), count)
    return count.to(dtypes.int32) if out_int32 else count


def bucketize(input: Any, boundaries: Any, *, out_int32: bool = False, right: bool = False,
              out: Any = None) -> Tensor:
    """torch.bucketize: searchsorted(boundaries, input) (1-d boundaries)."""
    b = _t(boundaries)
    if b.ndim != 1:
        raise ShapeError(with_location(
            f"bucketize: boundaries must be 1-d, got shape {list(b.shape)}"))
    return searchsorted(b, input, out_int32=out_int32, right=right)


def histc(input: Any, bins: int = 100, min: float = 0, max: float = 0, *, out: Any = None
          ) -> Tensor:
    """torch.histc: counts of the elements in `bins` equal-width bins over [min, max]
    (the data's range when min == max); elements outside, and NaN, are not counted."""
    x = _t(input)
    if not x.dtype.is_floating_point:
        raise DTypeError(with_location(f"histc: needs a floating-point tensor, got "
                                       f"{x.dtype.name}"))
    if bins <= 0:
        raise ArgumentError(with_location(f"histc: bins must be positive, got {bins}"))
    if min > max:
        raise ArgumentError(with_location(f"histc: min ({min}) must not exceed max ({max})"))
    flat = ops.stop_gradient(ops.reshape(x, (x.numel(),)))
    if min == max and x.numel():
        lo, hi = ops.amin(flat), ops.amax(flat)
    else:
        lo, hi = ops.full((), float(min), x.dtype), ops.full((), float(max), x.dtype)
    same = ops.eq(lo, hi)
    lo = ops.where(same, ops.sub(lo, 1), lo)
    hi = ops.where(same, ops.add(hi, 1), hi)
    inside = ops.logical_and(ops.ge(flat, lo), ops.le(flat, hi))
    width = ops.sub(hi, lo)
    safe = ops.where(inside, flat, lo)  # no NaN or huge value reaches the int cast
    b = ops.floor(ops.div(ops.mul(ops.sub(safe, lo), float(bins)), width)).to(dtypes.int64)
    b = ops.minimum(ops.maximum(b, ops.full((), 0, dtypes.int64)),
                    ops.full((), bins - 1, dtypes.int64))
    return ops.emit(hl.ScatterAddOp, b, inside.to(x.dtype), result_type=_type(x.dtype, bins),
                    axis=0)


def multinomial(input: Any, num_samples: int, replacement: bool = False, *,
                generator: Any = None, out: Any = None) -> Tensor:
    """torch.multinomial: `num_samples` category indices per row drawn with the (not
    necessarily normalized) weights of `input` (1-d or 2-d); without replacement a
    category is drawn at most once (Gumbel top-k: exactly the sequential draw's law).
    Uses lamina's random stream (lm.manual_seed)."""
    from lamina.frontend import random

    p = _t(input)
    if p.ndim not in (1, 2) or not p.dtype.is_floating_point:
        raise ShapeError(with_location(
            f"multinomial: needs a 1-d or 2-d floating-point tensor, got shape "
            f"{list(p.shape)} and dtype {p.dtype.name}"))
    n = p.shape[-1]
    if num_samples <= 0 or (not replacement and num_samples > n):
        raise ArgumentError(with_location(
            f"multinomial: cannot draw {num_samples} samples from {n} categories "
            f"{'with' if replacement else 'without'} replacement"))
    rows = p.shape[0] if p.ndim == 2 else 1
    w = ops.reshape(ops.stop_gradient(p).to(dtypes.float64), (rows, n))
    if not w.is_traced and (bool((w.numpy() < 0).any()) or not np.isfinite(w.numpy()).all()
                            or bool((w.numpy().sum(-1) <= 0).any())):
        raise ArgumentError(with_location(
            "multinomial: probabilities must be finite, non-negative, with a positive sum"))
    if replacement:
        cdf = random_scan(w)
        total = ops.reshape(ops.sum(w, -1), (rows, 1))
        u = ops.mul(random.rand(rows, num_samples, dtype=dtypes.float64), total)
        picks = searchsorted(cdf, u, right=True)
        picks = ops.minimum(picks, ops.full((), n - 1, dtypes.int64))
    else:
        u = random.rand(rows, n, dtype=dtypes.float64)
        tiny = ops.full((), np.finfo(np.float64).tiny, dtypes.float64)
        # log(u) / w: the largest k are a draw without replacement (w = 0: never first)
        keys = ops.div(ops.log(ops.maximum(u, tiny)), w)
        from lamina.frontend.sorting import topk

        picks = topk(keys, num_samples, -1).indices
    return picks if p.ndim == 2 else ops.reshape(picks, (num_samples,))


def random_scan(w: Tensor) -> Tensor:
    from lamina.frontend.scan import scan

    return scan(w, "add", w.ndim - 1)


def _install_methods() -> None:
    def nonzero_method(self, *, as_tuple=False):
        return nonzero(self, as_tuple=as_tuple)

    methods = {"nonzero": nonzero_method, "argwhere": argwhere, "masked_select": masked_select,
               "unique": unique, "unique_consecutive": unique_consecutive,
               "bincount": bincount, "repeat_interleave": repeat_interleave, "histc": histc,
               "multinomial": multinomial}
    for name, fn in methods.items():
        setattr(Tensor, name, fn)


_install_methods()

__all__ = ["argwhere", "bincount", "bucketize", "histc", "masked_select", "multinomial",
           "nonzero", "repeat_interleave", "searchsorted", "unique", "unique_consecutive"]
