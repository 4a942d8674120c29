"""Cumulative ops with torch's signatures: cumsum, cumprod, cummax, cummin,
logcumsumexp (and the in-place cumsum_/cumprod_). Each is one `hl.scan` along `dim`
(sequential along it, parallel across the others on every backend); cummax/cummin
find their indices with a second scan and gather their values through them, so their
gradient is gather's (the cotangent added at the index), as torch's."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from lamina import dtypes
from lamina.dialects import hl
from lamina.dialects.hl.base import tensor_type
from lamina.errors import ArgumentError, DTypeError, with_location
from lamina.frontend import ops
from lamina.frontend.movement import _linear_index
from lamina.frontend.tensor import Tensor


def _return_type(name: str) -> type:
    """A torch.return_types class: a tuple that unpacks, with `.values`/`.indices`, and
    that lm.jit returns as itself (pytree.RETURN_TYPE)."""
    cls = type(name, (namedtuple(name, ["values", "indices"]),),
               {"__slots__": (), "RETURN_TYPE": True, "__module__": "lamina.return_types"})
    return cls


ValuesIndices = {name: _return_type(name) for name in (
    "cummax", "cummin", "sort", "topk", "kthvalue", "median", "nanmedian", "mode", "aminmax")}


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(x)


def _no_out(out: Any, op: str) -> None:
    if out is not None:
        raise ArgumentError(with_location(f"{op}: out= is not supported (lamina tensors "
                                          "are values; use the result)"))


def scan(x: Tensor, kind: str, dim: int, reverse: bool = False) -> Tensor:
    """hl.scan of `x` along `dim` (a 0-d tensor scans as one element)."""
    if x.ndim == 0:
        return ops.reshape(scan(ops.reshape(x, (1,)), kind, 0, reverse), ())
    return ops.emit(hl.ScanOp, x, kind=kind, dim=dim, reverse=reverse)


def _accumulating(x: Tensor, dtype: Any, op: str) -> Tensor:
    """torch's cumsum/cumprod dtype: `dtype` if given, else integers and bools as int64."""
    if dtype is not None:
        return x.to(dtypes.as_dtype(dtype))
    if not x.dtype.is_floating_point:
        return x.to(dtypes.int64)
    return x


def cumsum(input: Any, dim: int, *, dtype: Any = None, out: Any = None) -> Tensor:
    """torch.cumsum: running sums along `dim` (int64 for integer and bool input)."""
    _no_out(out, "cumsum")
    x = _t(input)
    d = ops._dim(x, dim, "cumsum")
    return scan(_accumulating(x, dtype, "cumsum"), "add", d)


def cumprod(input: Any, dim: int, *, dtype: Any = None, out: Any = None) -> Tensor:
    """torch.cumprod: running products along `dim`; its gradient is exact where the
    input has zeros (no division by them), as torch's."""
    _no_out(out, "cumprod")
    x = _t(input)
    d = ops._dim(x, dim, "cumprod")
    return scan(_accumulating(x, dtype, "cumprod"), "mul", d)


def logcumsumexp(input: Any, dim: int, *, out: Any = None) -> Tensor:
    """torch.logcumsumexp: log(cumsum(exp(x))) computed stably (one log-add-exp per
    step), with torch's gradient."""
    _no_out(out, "logcumsumexp")
    x = _t(input)
    d = ops._dim(x, dim, "logcumsumexp")
    if not x.dtype.is_floating_point:
        raise DTypeError(with_location(
            f"logcumsumexp: needs a floating-point tensor, got {x.dtype.name} (shape "
            f"{list(x.shape)})"))
    return scan(x, "logaddexp", d)


def _cumulative_extremum(x: Any, dim: int, kind: str) -> Any:
    x = _t(x)
    d = ops._dim(x, dim, f"cum{kind}")
    if x.ndim == 0:
        return ValuesIndices[f"cum{kind}"](ops.fresh(x), ops.zeros((), dtype=dtypes.int64))
    plain = ops.stop_gradient(x)
    values = scan(plain, kind, d)
    # the index of the running extremum is the last place where an element equals it
    # (ties: the last index, as torch), NaN included: a running max of those places
    hit = ops.eq(plain, values)
    if x.dtype.is_floating_point:
        hit = ops.logical_or(hit, ops.ne(plain, plain))
    iota = ops.emit(hl.IotaOp, result_type=tensor_type(dtypes.int64.ir_type, x.shape), dim=d)
    indices = scan(ops.where(hit, iota, ops.full(x.shape, -1, dtypes.int64)), "max", d)
    if not x.needs_grad:
        return ValuesIndices[f"cum{kind}"](values, indices)
    flat = ops.reshape(x, (x.numel(),))
    gathered = ops.emit(hl.GatherOp, flat, _linear_index(x.shape, indices, d), axis=0)
    return ValuesIndices[f"cum{kind}"](gathered, indices)


def cummax(input: Any, dim: int, *, out: Any = None) -> Any:
    """torch.cummax: (running maxima, their indices) along `dim`; ties and NaN take
    the last index."""
    _no_out(out, "cummax")
    return _cumulative_extremum(input, dim, "max")


def cummin(input: Any, dim: int, *, out: Any = None) -> Any:
    """torch.cummin: (running minima, their indices) along `dim`."""
    _no_out(out, "cummin")
    return _cumulative_extremum(input, dim, "min")


def _install_methods() -> None:
    def cumsum_(self, dim, *, dtype=None):
        return self._assign(cumsum(self, dim, dtype=dtype).to(self.dtype))

    def cumprod_(self, dim, *, dtype=None):
        return self._assign(cumprod(self, dim, dtype=dtype).to(self.dtype))

    for fn in (cumsum, cumprod, logcumsumexp, cummax, cummin, cumsum_, cumprod_):
        setattr(Tensor, fn.__name__, fn)


_install_methods()

__all__ = ["cummax", "cummin", "cumprod", "cumsum", "logcumsumexp"]
