"""Normalization functions of `torch.nn.functional` beyond layer_norm (re-exported by
`lm.nn.functional`): batch_norm, instance_norm, group_norm, rms_norm and
local_response_norm, as compositions of lamina ops.

Batch statistics normalize with the biased variance; the running variance is updated
with the unbiased one (n / (n - 1)), as torch does. Running statistics are buffers
updated in place with `copy_`, outside the gradient (`stop_gradient`), so the same code
works eagerly and inside `lm.jit` (a jitted step updates them as it updates an
optimizer's state)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lamina import dtypes
from lamina.errors import ArgumentError, ShapeError, with_location
from lamina.frontend import movement
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor

__all__ = ["batch_norm", "group_norm", "instance_norm", "local_response_norm", "rms_norm"]


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else O.tensor(x)


def _channel_view(t: Tensor, ndim: int) -> Tensor:
    """A per-channel vector shaped to broadcast over (N, C, *spatial)."""
    return t.reshape(t.shape[0], *([1] * (ndim - 2))) if ndim > 2 else t


def _affine(out: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    if weight is not None:
        out = out * _channel_view(_t(weight), out.ndim)
    if bias is not None:
        out = out + _channel_view(_t(bias), out.ndim)
    return out


def _update_running(running: Tensor, batch: Tensor, momentum: float) -> None:
    running.copy_(running * (1 - momentum) + O.stop_gradient(batch).to(running.dtype) * momentum)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) of (N, C, *spatial) by its batch statistics in
    training (updating the running ones when given) or by the running ones otherwise."""
    x = _t(input)
    if x.ndim < 2:
        raise ShapeError(with_location(
            f"batch_norm: expected an input of at least 2 dims (N, C, ...), got shape "
            f"{list(x.shape)}"))
    dims = (0, *range(2, x.ndim))
    if training:
        n = x.numel() // x.shape[1] if x.shape[1] else 0
        if n <= 1:
            raise ArgumentError(with_location(
                f"batch_norm: expected more than 1 value per channel when training, got "
                f"input size {list(x.shape)}"))
        mean = x.mean(dims)
        centered = x - _channel_view(mean, x.ndim)
        var = (centered * centered).mean(dims)
        if running_mean is not None:
            _update_running(running_mean, mean, momentum)
        if running_var is not None:
            _update_running(running_var, var * (n / (n - 1)), momentum)
    else:
        if running_mean is None or running_var is None:
            raise ArgumentError(with_location(
                "batch_norm: running_mean and running_var are required when not training"))
        mean, var = _t(running_mean), _t(running_var)
        centered = x - _channel_view(mean, x.ndim)
    out = centered * _channel_view(O.rsqrt(var + eps), x.ndim)
    return _affine(out, weight, bias)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each (sample, channel) over its spatial dims; running statistics (when
    given) are updated with the mean over the batch of the per-instance ones."""
    x = _t(input)
    if x.ndim < 3:
        raise ShapeError(with_location(
            f"instance_norm: expected an input of at least 3 dims (N, C, *spatial), got "
            f"shape {list(x.shape)}"))
    spatial = tuple(range(2, x.ndim))
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    n = 1
    for d in spatial:
        n *= x.shape[d]
    if n <= 1:
        raise ArgumentError(with_location(
            f"instance_norm: expected more than 1 spatial element when training, got input "
            f"size {list(x.shape)}"))
    mean = x.mean(spatial, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(spatial, keepdim=True)
    if running_mean is not None:
        _update_running(running_mean, mean.reshape(x.shape[0], x.shape[1]).mean(0), momentum)
    if running_var is not None:
        unbiased = var.reshape(x.shape[0], x.shape[1]).mean(0) * (n / (n - 1))
        _update_running(running_var, unbiased, momentum)
    return _affine(centered * O.rsqrt(var + eps), weight, bias)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    x = _t(input)
    if x.ndim < 2 or num_groups <= 0 or x.shape[1] % num_groups:
        raise ShapeError(with_location(
            f"group_norm: expected an input of at least 2 dims whose {x.shape[1:2]} channels "
            f"divide into {num_groups} groups, got shape {list(x.shape)}"))
    grouped = x.reshape(x.shape[0], num_groups, -1)
    mean = grouped.mean(2, keepdim=True)
    centered = grouped - mean
    var = (centered * centered).mean(2, keepdim=True)
    out = (centered * O.rsqrt(var + eps)).reshape(*x.shape)
    return _affine(out, weight, bias)


def rms_norm(input: Tensor, normalized_shape: Sequence[int] | int,
             weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x²) + eps) over the trailing `normalized_shape` dims, times weight;
    eps defaults to the machine epsilon of the input's dtype, as torch."""
    x = _t(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ShapeError(with_location(
            f"rms_norm: normalized_shape {list(shape)} does not match the trailing dims of an "
            f"input of shape {list(x.shape)}"))
    if eps is None:
        import numpy as np

        eps = float(np.finfo(x.dtype.np_dtype if x.dtype.is_floating_point
                             else dtypes.default_float().np_dtype).eps)
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    out = x * O.rsqrt((x * x).mean(dims, keepdim=True) + eps)
    return out if weight is None else out * _t(weight)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """x / (k + alpha/size · Σ x² over `size` neighbouring channels)^beta, the window
    zero-padded as torch's (size // 2 channels before, (size - 1) // 2 after)."""
    x = _t(input)
    if x.ndim < 3:
        raise ShapeError(with_location(
            f"local_response_norm: expected 3 dims or more, got shape {list(x.shape)}"))
    if x.shape[1] == 0:
        return O.zeros_like(x)
    sq = x * x
    pads = [0, 0] * (x.ndim - 2) + [size // 2, (size - 1) // 2]
    padded = movement.pad(sq, pads)
    channels = x.shape[1]
    total = None
    for offset in range(size):
        window = movement.narrow(padded, 1, offset, channels)
        total = window if total is None else total + window
    div = (total * (alpha / size) + k) ** beta
    return x / div
