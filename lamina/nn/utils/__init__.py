"""`lm.nn.utils`: gradient clipping, parameters as one vector, weight and spectral
normalization (hooks and parametrizations), and `rnn` helpers."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from lamina.errors import ArgumentError, ShapeError, with_location
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor
from lamina.nn.utils import parametrizations, parametrize, rnn
from lamina.nn.utils.legacy_norms import (
    remove_spectral_norm,
    remove_weight_norm,
    spectral_norm,
    weight_norm,
)

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "parameters_to_vector",
           "parametrizations", "parametrize", "remove_spectral_norm", "remove_weight_norm",
           "rnn", "spectral_norm", "vector_to_parameters", "weight_norm"]


def _params(parameters: Any) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def get_total_norm(tensors: Iterable[Tensor] | Tensor, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: Any = None) -> Tensor:
    """The norm of the norms of `tensors` (of all their elements together)."""
    tensors = [t for t in _params(tensors) if t is not None]
    if not tensors:
        return O.tensor(0.0)
    p = float(norm_type)
    if p == math.inf:
        norms = [O.amax(O.abs(t)) for t in tensors]
        total = norms[0]
        for n in norms[1:]:
            total = O.maximum(total, n)
    else:
        total = None
        for t in tensors:
            part = (O.abs(t) ** p).sum() if p != 2 else (t * t).sum()
            total = part if total is None else total + part
        total = total ** (1.0 / p)
    if error_if_nonfinite and not bool(np.isfinite(np.asarray(total))):
        raise ArgumentError(with_location(
            f"clip_grad_norm_: the total norm of order {norm_type} for gradients from "
            "`parameters` is non-finite, so it cannot be clipped"))
    return total


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: Any = None) -> Tensor:
    """Scale every `.grad` by min(1, max_norm / (total_norm + 1e-6)); returns the total
    norm (before clipping), as torch."""
    params = _params(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return O.tensor(0.0)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    factor = O.clamp(float(max_norm) / (total + 1e-6), max=1.0)
    for p in params:
        if p.grad is not None:
            p.grad = p.grad * factor.to(p.grad.dtype)
    return total


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float,
                     foreach: Any = None) -> None:
    for p in _params(parameters):
        if p.grad is not None:
            p.grad = O.clamp(p.grad, -float(clip_value), float(clip_value))


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    from lamina.frontend import movement

    return movement.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Write consecutive slices of `vec` into the parameters (in place)."""
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise ArgumentError(with_location(
            f"vector_to_parameters: expected a 1-D tensor, got {type(vec).__name__}"))
    offset = 0
    for p in parameters:
        n = p.numel()
        if offset + n > vec.shape[0]:
            raise ShapeError(with_location(
                f"vector_to_parameters: a vector of {vec.shape[0]} elements is too short"))
        p.copy_(vec[offset:offset + n].reshape(*p.shape))
        offset += n
