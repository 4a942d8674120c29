"""Tensor metadata torch code reads (`element_size`, `stride`, `is_contiguous`,
`grad_fn`, ...), the conjugate/real spellings that are identities on real tensors, and a
few methods that only make sense on a tensor (`sum_to_size`, `fill_diagonal_`, the
in-place samplers `random_`, `exponential_`, ...). Installed on `Tensor` by methods.py.

lamina tensors are real CPU tensors; their strides are torch's (frontend/strides.py:
the view ops that restride in torch leave the same bookkeeping here)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, DTypeError, ShapeError, like, with_location
from lamina.frontend import ops as O

__all__ = ["install"]


def _stride(self, dim: int | None = None):
    strides = self._layout()
    if dim is None:
        return strides
    if not -max(self.ndim, 1) <= dim < max(self.ndim, 1):
        raise like(ShapeError, IndexError)(with_location(
            f"stride: dim {dim} is out of range for a tensor of rank {self.ndim}"))
    return strides[dim] if self.ndim else 1


class GradFn:
    """What `t.grad_fn` shows for a result of differentiable ops (lamina records
    graphs of ops, not per-tensor backward nodes): not None, and named."""

    def __init__(self, tensor: Any) -> None:
        self._shape = tuple(tensor.shape)

    def name(self) -> str:
        return "LaminaBackward"

    def __repr__(self) -> str:
        return f"<LaminaBackward for a result of shape {list(self._shape)}>"


def _grad_fn(self) -> GradFn | None:
    return None if self.is_leaf or not self.requires_grad else GradFn(self)


def _imag(self):
    raise like(DTypeError, RuntimeError)(with_location(
        "imag is not implemented for tensors with non-complex dtypes."))


def _H(self):  # noqa: N802  (torch's name)
    if self.ndim > 2:
        raise like(ShapeError, RuntimeError)(with_location(
            f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor."))
    return self.t() if self.ndim == 2 else self


def _sum_to_size(self, *size):
    """Sum over the dims broadcasting expanded, down to `size` (which must broadcast to
    self's shape)."""
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], tuple | list) else size
    lead = self.ndim - len(size)
    ok = lead >= 0 and all(s in (1, n) for s, n in zip(size, self.shape[lead:], strict=True))
    if not ok:
        raise like(ShapeError, RuntimeError)(with_location(
            f"size {list(size)} is not expandable to size {list(self.shape)}."))
    out = O.sum(self, tuple(range(lead)), keepdim=False) if lead else self
    dims = tuple(d for d, (s, n) in enumerate(zip(size, out.shape, strict=True))
                 if s == 1 and n != 1)
    if dims:
        return O.sum(out, dims, keepdim=True)
    return out if out is not self else O.fresh(self)  # a new tensor, as torch


def _fill_diagonal_(self, fill_value: Any, wrap: bool = False):
    """torch's fill_diagonal_: the main diagonal (all dims equal in 3-D and up; with
    `wrap`, a tall matrix's diagonal restarts after every n+1 rows)."""
    if self.ndim < 2:
        raise like(ShapeError, RuntimeError)(with_location("dimensions must larger than 1"))
    if self.ndim > 2 and len(set(self.shape)) != 1:
        raise like(ShapeError, RuntimeError)(with_location("all dimensions of input must be of equal length"))
    mask = np.zeros(self.shape, bool)
    if self.ndim > 2:
        idx = np.arange(self.shape[0])
        mask[(idx,) * self.ndim] = True
    else:
        rows, cols = self.shape
        flat = mask.reshape(-1)
        stop = rows * cols if wrap else min(rows, cols) * cols
        flat[0:stop:cols + 1] = True
    return self._assign(O.where(O.tensor(mask), O.full((), fill_value, dtype=self.dtype), self))


def _uniform(self):
    from lamina.frontend import random

    return random.rand_like(self, dtype=self.dtype if self.dtype.is_floating_point
                            else dtypes.float64)


def _float_only(self, op: str) -> None:
    if not self.dtype.is_floating_point:
        raise like(DTypeError, RuntimeError)(with_location(
            f"{op} expects floating point dtypes, got {self.dtype.name}"))


def _random_(self, from_: int = 0, to: int | None = None, *, generator: Any = None):
    """Integers uniform in [from, to) (to defaults to the dtype's limit, or 2**mantissa
    for floats, as torch)."""
    if to is None:
        if self.dtype.is_floating_point:
            to = 2 ** (np.finfo(self.dtype.np_dtype).nmant + 1)
        elif self.dtype == dtypes.bool_:
            to = 2
        else:
            to = int(np.iinfo(self.dtype.np_dtype).max) + 1
    if to <= from_:
        raise ArgumentError(with_location(
            f"random_ expects 'from' to be less than 'to', but got from={from_} >= to={to}"))
    u = _uniform(self).to(dtypes.float64)
    values = O.floor(O.add(O.mul(u, float(to - from_)), float(from_)))
    return self._assign(O.clamp(values, from_, to - 1).to(self.dtype))


def _exponential_(self, lambd: float = 1.0, *, generator: Any = None):
    _float_only(self, "exponential_")
    if lambd <= 0:
        raise ArgumentError(with_location(
            f"exponential_ expects lambda > 0.0, but found lambda={lambd}"))
    # 1 - u is in (0, 1]: the log stays finite
    return self._assign(O.div(O.neg(O.log(O.sub(1, _uniform(self)))), lambd))


def _cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None):
    _float_only(self, "cauchy_")
    return self._assign(O.add(median, O.mul(sigma, O.tan(
        O.mul(math.pi, O.sub(_uniform(self), 0.5))))))


def _log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator: Any = None):
    from lamina.frontend import random

    _float_only(self, "log_normal_")
    normal = random.randn_like(self)
    return self._assign(O.exp(O.add(mean, O.mul(std, normal))))


def _geometric_(self, p: float, *, generator: Any = None):
    """The number of Bernoulli(p) trials up to the first success (>= 1)."""
    if not 0 < p < 1:
        raise ArgumentError(with_location(f"geometric_ expects p to be in (0, 1), but got p={p}"))
    u = _uniform(self).to(dtypes.float64)
    trials = O.ceil(O.div(O.log(O.sub(1, u)), math.log1p(-p)))
    return self._assign(O.clamp(trials, 1, None).to(self.dtype))


def install(Tensor: type) -> None:
    for name, value in {
        "element_size": lambda self: self.dtype.itemsize,
        "stride": _stride,
        "storage_offset": lambda self: 0,
        "is_contiguous": lambda self, memory_format=None: self._strides is None,
        "get_device": lambda self: -1 if self.device.type == "cpu" else (self.device.index or 0),
        "is_inference": lambda self: False,
        "is_pinned": lambda self, device=None: False,
        "is_shared": lambda self: False,
        "is_conj": lambda self: False,
        "is_neg": lambda self: False,
        "isreal": lambda self: O.ones(self.shape, dtype=dtypes.bool_),
        "conj": lambda self: self,
        "conj_physical": lambda self: self,
        "resolve_conj": lambda self: self,
        "resolve_neg": lambda self: self,
        "adjoint": lambda self: self.mT,
        "sum_to_size": _sum_to_size,
        "narrow_copy": lambda self, dim, start, length: O.fresh(self.narrow(dim, start, length)),
        "split_with_sizes": lambda self, split_sizes, dim=0: self.split(list(split_sizes), dim),
        "unsafe_split": lambda self, split_size, dim=0: self.split(split_size, dim),
        "unsafe_chunk": lambda self, chunks, dim=0: self.chunk(chunks, dim),
        "fill_diagonal_": _fill_diagonal_,
        "random_": _random_,
        "exponential_": _exponential_,
        "cauchy_": _cauchy_,
        "log_normal_": _log_normal_,
        "geometric_": _geometric_,
    }.items():
        setattr(Tensor, name, value)
    for name, getter in {
        "itemsize": lambda self: self.dtype.itemsize,
        "nbytes": lambda self: self.dtype.itemsize * self.numel(),
        "is_cpu": lambda self: self.device.type == "cpu",
        "is_sparse": lambda self: False,
        "is_sparse_csr": lambda self: False,
        "is_quantized": lambda self: False,
        "is_meta": lambda self: False,
        "is_nested": lambda self: False,
        "is_mkldnn": lambda self: False,
        "grad_fn": _grad_fn,
        "real": lambda self: self,
        "imag": _imag,
        "H": _H,
        "mH": lambda self: self.mT,
    }.items():
        setattr(Tensor, name, property(getter))
