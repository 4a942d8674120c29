"""torch's sampling spellings over `lamina.frontend.random`'s generator: `lm.normal` in
its overloads and the in-place initialisers `Tensor.normal_` / `uniform_` (the same
stream as `lm.randn` / `lm.rand`, so `lm.manual_seed` makes them reproducible)."""

from __future__ import annotations

from typing import Any

from lamina.errors import ArgumentError, ShapeError, with_location
from lamina.frontend import ops as O
from lamina.frontend import random
from lamina.frontend.ops import METHODS
from lamina.frontend.tensor import Tensor

__all__ = ["normal"]


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None,
           dtype: Any = None, requires_grad: bool = False, **_device: Any) -> Tensor:
    """Samples of N(mean, std^2): tensor mean and/or std (broadcast; the samples take
    their shape), or numbers with `size`."""
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise ArgumentError(with_location(
                "normal: with a number mean and std, size= must be given"))
        if std < 0:
            raise ArgumentError(with_location(f"normal: std must be >= 0, got {std}"))
        shape = O._shape_arg(size)
        out = O.add(O.mul(random.randn(*shape, dtype=dtype), std), mean)
        return out.requires_grad_(True) if requires_grad else out
    if size is not None and tuple(O._shape_arg(size)) != O.broadcast_shapes(
            *(t.shape for t in tensors)):
        raise ShapeError(with_location(
            f"normal: size {list(size)} differs from the shape of mean/std"))
    dt = O.result_dtype(*tensors)
    if not dt.is_floating_point:
        raise ArgumentError(with_location(
            f"normal: mean and std must be floating point, got {dt.name}"))
    shape = O.broadcast_shapes(*(t.shape for t in tensors))
    return O.add(O.mul(random.randn(*shape, dtype=dt), std), mean)


def _normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Any = None
             ) -> Tensor:
    _float_self(self, "normal_")
    sample = random.randn(*self.shape, dtype=self.dtype)
    return self._assign(O.add(O.mul(sample, float(std)), float(mean)))


def _uniform_(self: Tensor, *args: Any, generator: Any = None, **kwargs: Any) -> Tensor:
    """uniform_(from=0, to=1): `from` is a Python keyword, so it arrives in kwargs."""
    names = ["from", "to"]
    bounds = {"from": 0.0, "to": 1.0}
    if len(args) > 2:
        raise ArgumentError(with_location(f"uniform_: at most 2 bounds, got {len(args)}"))
    for name, value in zip(names, args, strict=False):
        bounds[name] = value
    for name, value in kwargs.items():
        if name not in bounds:
            raise ArgumentError(with_location(f"uniform_: unexpected keyword {name!r}"))
        bounds[name] = value
    lo, hi = float(bounds["from"]), float(bounds["to"])
    if lo > hi:
        raise ArgumentError(with_location(f"uniform_: from ({lo}) must be <= to ({hi})"))
    _float_self(self, "uniform_")
    sample = random.rand(*self.shape, dtype=self.dtype)
    return self._assign(O.add(O.mul(sample, hi - lo), lo))


def _float_self(self: Tensor, op: str) -> None:
    if not self.dtype.is_floating_point:
        raise ArgumentError(with_location(
            f"{op}: needs a floating-point tensor, got {self.dtype.name}"))


METHODS.update(normal_=_normal_, uniform_=_uniform_)
