"""Sorting with torch's signatures: sort, argsort, msort, topk, kthvalue, median,
nanmedian, mode. All are one `hl.argsort` (a stable sort, NaN as the largest value,
compiled on every backend) and gathers through it, so their values' gradient is
gather's: the cotangent goes back to the index each value came from, as torch's.

Ties: sort/argsort/topk keep index order (torch's stable order); mode returns the
smallest most frequent value and its last index, as torch; for kthvalue/median torch
leaves which of several equal elements' index it returns to its selection algorithm:
lamina returns the first in index order among those the sorted position holds."""

from __future__ import annotations

from typing import Any

from lamina import dtypes
from lamina.dialects import hl
from lamina.errors import DimError, with_location
from lamina.frontend import ops
from lamina.frontend.movement import _linear_index, _slice_dim, cat
from lamina.frontend.scan import ValuesIndices, _no_out, _t, scan
from lamina.frontend.tensor import Tensor


def _take(x: Tensor, index: Tensor, d: int) -> Tensor:
    """torch.gather(x, d, index) for in-range indices (no check: lamina made them)."""
    if x.ndim == 0:
        return ops.fresh(x)
    flat = ops.reshape(x, (x.numel(),))
    return ops.emit(hl.GatherOp, flat, _linear_index(x.shape, index, d), axis=0)


def _argsort(x: Tensor, d: int, descending: bool) -> Tensor:
    if x.ndim == 0:
        return ops.zeros((), dtype=dtypes.int64)
    return ops.emit(hl.ArgsortOp, ops.stop_gradient(x), dim=d, descending=bool(descending))


def argsort(input: Any, dim: int = -1, descending: bool = False, stable: bool = False
            ) -> Tensor:
    """torch.argsort: the indices that sort `dim` (always stable: ties in index order;
    NaN sorts as the largest value)."""
    x = _t(input)
    return _argsort(x, ops._dim(x, dim, "argsort"), descending)


def sort(input: Any, dim: int = -1, descending: bool = False, stable: bool = False, *,
         out: Any = None) -> Any:
    """torch.sort: (values, indices) along `dim`, stable, NaN as the largest value."""
    _no_out(out, "sort")
    x = _t(input)
    d = ops._dim(x, dim, "sort")
    index = _argsort(x, d, descending)
    return ValuesIndices["sort"](_take(x, index, d), index)


def msort(input: Any, *, out: Any = None) -> Tensor:
    """torch.msort: sorted along dim 0."""
    _no_out(out, "msort")
    return sort(input, 0).values


def _positions(x: Tensor, d: int, index: Tensor, start: int, stop: int) -> Tensor:
    return _slice_dim(index, d, start, stop) if x.ndim else index


def topk(input: Any, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *,
         out: Any = None) -> Any:
    """torch.topk: the k largest (smallest) along `dim`, in order, NaN as the largest."""
    _no_out(out, "topk")
    x = _t(input)
    d = ops._dim(x, dim, "topk")
    n = x.shape[d] if x.ndim else 1
    if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k <= n:
        raise like_index_error(f"topk: k ({k}) is out of range for dim {d} of size {n} "
                               f"(shape {list(x.shape)})")
    index = _positions(x, d, _argsort(x, d, largest), 0, k)
    return ValuesIndices["topk"](_take(x, index, d), index)


def like_index_error(message: str) -> Exception:
    from lamina.dialects.hl.indexing import IndexOutOfRangeError

    return IndexOutOfRangeError(with_location(message))


def _select_position(x: Tensor, d: int, pos: Tensor, keepdim: bool, name: str,
                     descending: bool = False) -> Any:
    """The element at sorted position `pos` (int64, size 1 along d) of each line."""
    if x.ndim == 0:
        return ValuesIndices[name](ops.fresh(x), ops.zeros((), dtype=dtypes.int64))
    order = _argsort(x, d, descending)
    index = _take(order, pos, d)
    values = _take(x, index, d)
    if not keepdim:
        values, index = ops.squeeze(values, d), ops.squeeze(index, d)
    return ValuesIndices[name](values, index)


def _const_position(x: Tensor, d: int, p: int) -> Tensor:
    shape = tuple(1 if i == d else n for i, n in enumerate(x.shape))
    return ops.full(shape, p, dtype=dtypes.int64)


def kthvalue(input: Any, k: int, dim: int = -1, keepdim: bool = False, *, out: Any = None
             ) -> Any:
    """torch.kthvalue: the k-th smallest along `dim` (k from 1) and its index."""
    _no_out(out, "kthvalue")
    x = _t(input)
    d = ops._dim(x, dim, "kthvalue")
    n = x.shape[d] if x.ndim else 1
    if not isinstance(k, int) or not 1 <= k <= n:
        raise like_index_error(f"kthvalue: k ({k}) is out of range for dim {d} of size "
                               f"{n} (shape {list(x.shape)})")
    return _select_position(x, d, _const_position(x, d, k - 1) if x.ndim else None,
                            keepdim, "kthvalue")


def _count_numbers(x: Tensor, d: int) -> Tensor:
    """Non-NaN elements per line along d, kept as a size-1 dim (int64)."""
    numbers = ops.eq(x, x) if x.dtype.is_floating_point else ops.full(x.shape, True,
                                                                     dtypes.bool_)
    return ops.sum(numbers.to(dtypes.int64), d, keepdim=True)


def median(input: Any, dim: Any = None, keepdim: bool = False, *, out: Any = None) -> Any:
    """torch.median: the lower median (of 2m elements the m-th smallest); NaN if the
    line has one (and that NaN's index). Without `dim`, of all elements, no index."""
    _no_out(out, "median")
    return _median(_t(input), dim, keepdim, "median", ignore_nan=False)


def nanmedian(input: Any, dim: Any = None, keepdim: bool = False, *, out: Any = None) -> Any:
    """torch.nanmedian: the lower median of the non-NaN elements (NaN where all are)."""
    _no_out(out, "nanmedian")
    return _median(_t(input), dim, keepdim, "nanmedian", ignore_nan=True)


def _median(x: Tensor, dim: Any, keepdim: bool, name: str, ignore_nan: bool) -> Any:
    if dim is None:
        if x.numel() == 0:
            return ops.full((), float("nan"), x.dtype)
        flat = ops.reshape(x, (x.numel(),))
        return ops.reshape(_median(flat, 0, False, name, ignore_nan).values, ())
    d = ops._dim(x, dim, name)
    if x.ndim == 0:
        return ValuesIndices[name](ops.fresh(x), ops.zeros((), dtype=dtypes.int64))
    n = x.shape[d]
    if n == 0:
        raise like_index_error(f"{name}: cannot take the median of an empty dim {d} "
                               f"(shape {list(x.shape)})")
    if not x.dtype.is_floating_point:
        return _select_position(x, d, _const_position(x, d, (n - 1) // 2), keepdim, name)
    count = _count_numbers(x, d)  # NaN sorts last: the first NaN sits at `count`
    if ignore_nan:
        pos = ops.floor_divide(ops.sub(ops.maximum(count, ops.full((), 1, dtypes.int64)), 1), 2)
    else:
        pos = ops.where(ops.lt(count, n), count, _const_position(x, d, (n - 1) // 2))
    return _select_position(x, d, pos, keepdim, name)


def mode(input: Any, dim: int = -1, keepdim: bool = False, *, out: Any = None) -> Any:
    """torch.mode: the most frequent value along `dim` (the smallest of equally frequent
    ones) and the last index where it occurs."""
    _no_out(out, "mode")
    x = _t(input)
    d = ops._dim(x, dim, "mode")
    if x.ndim == 0:
        return ValuesIndices["mode"](ops.fresh(x), ops.zeros((), dtype=dtypes.int64))
    n = x.shape[d]
    if n == 0:
        raise DimError(with_location(f"mode: dim {d} of shape {list(x.shape)} is empty"))
    order = _argsort(x, d, False)
    s = _take(ops.stop_gradient(x), order, d)
    pos = _iota(x.shape, d)
    # runs of equal values in sorted order: where each starts and ends (NaNs: runs of 1)
    new = ops.ne(_slice_dim(s, d, 1, n), _slice_dim(s, d, 0, n - 1))
    edge = ops.full(tuple(1 if i == d else m for i, m in enumerate(x.shape)), True, dtypes.bool_)
    starts_here = cat([edge, new], d)
    ends_here = cat([new, edge], d)
    start = scan(ops.where(starts_here, pos, ops.full(x.shape, 0, dtypes.int64)), "max", d)
    end = scan(ops.where(ends_here, pos, ops.full(x.shape, n - 1, dtypes.int64)), "min", d,
               reverse=True)
    count = ops.sub(end, start)
    best = ops.argmax(count, d, keepdim=True)  # first: the smallest value
    index = _take(order, _take(end, best, d), d)
    values = _take(x, index, d)
    if not keepdim:
        values, index = ops.squeeze(values, d), ops.squeeze(index, d)
    return ValuesIndices["mode"](values, index)


def _iota(shape: tuple[int, ...], d: int) -> Tensor:
    from lamina.dialects.hl.base import tensor_type

    return ops.emit(hl.IotaOp, result_type=tensor_type(dtypes.int64.ir_type, shape), dim=d)


def _install_methods() -> None:
    def sort_method(self, dim=-1, descending=False, stable=False):
        return sort(self, dim, descending, stable=stable)

    methods = {"sort": sort_method, "argsort": argsort, "msort": msort, "topk": topk,
               "kthvalue": kthvalue, "median": median, "nanmedian": nanmedian, "mode": mode}
    for name, fn in methods.items():
        setattr(Tensor, name, fn)


_install_methods()

__all__ = ["argsort", "kthvalue", "median", "mode", "msort", "nanmedian", "sort", "topk"]
