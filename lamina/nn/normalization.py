"""Normalization modules with torch's constructors, parameters and buffers (so their
state_dicts have torch's keys: `weight`, `bias`, `running_mean`, `running_var`,
`num_batches_tracked`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lamina import dtypes
from lamina.errors import ShapeError, with_location
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor
from lamina.nn import functional as F
from lamina.nn import init
from lamina.nn.module import Module, Parameter

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm", "InstanceNorm1d",
    "InstanceNorm2d", "InstanceNorm3d", "LocalResponseNorm", "RMSNorm",
]


class _NormBase(Module):
    """Affine parameters and running statistics per channel."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dt = dtype if dtype is not None else dtypes.default_float()
        if affine:
            self.weight = Parameter(O.ones(num_features, dtype=dt))
            self.bias = Parameter(O.zeros(num_features, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", O.zeros(num_features, dtype=dt))
            self.register_buffer("running_var", O.ones(num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", O.zeros((), dtype=dtypes.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.copy_(O.zeros_like(self.running_mean))
            self.running_var.copy_(O.ones_like(self.running_var))
            self.num_batches_tracked.copy_(O.zeros_like(self.num_batches_tracked))

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in self._dims:
            raise ShapeError(with_location(
                f"{type(self).__name__}: expected {' or '.join(f'{d}D' for d in self._dims)} "
                f"input (got {input.ndim}D input of shape {list(input.shape)})"))
        if input.shape[1] != self.num_features and (self.affine or self.track_running_stats):
            raise ShapeError(with_location(
                f"{type(self).__name__}: expected {self.num_features} channels (dim 1), got "
                f"input of shape {list(input.shape)}"))

    def _momentum(self) -> Any:
        """The update factor: `momentum`, or 1/n (a cumulative average) when it is None;
        counts the batch."""
        if self.training and self.track_running_stats:
            self.num_batches_tracked.copy_(self.num_batches_tracked + 1)
            if self.momentum is None:
                return 1.0 / self.num_batches_tracked.to(self.running_mean.dtype)
        return 0.0 if self.momentum is None else self.momentum

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    _dims: tuple[int, ...] = ()

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        momentum = self._momentum()
        # torch's choice: batch statistics in training or without running ones; the
        # running ones are updated in training when tracked, used in evaluation
        use_batch = self.training or not self.track_running_stats
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight,
                            self.bias, use_batch, momentum, self.eps)


class BatchNorm1d(_BatchNorm):
    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    _dims = (5,)


class _InstanceNorm(_NormBase):
    _dims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device: Any = None,
                 dtype: Any = None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype)

    def forward(self, input: Tensor) -> Tensor:
        unbatched = input.ndim == self._dims[0] - 1
        if unbatched:
            input = input.unsqueeze(0)
        self._check_input_dim(input)
        momentum = self.momentum if self.momentum is not None else 0.0  # (torch counts no
        # batches here)
        use_input_stats = self.training or not self.track_running_stats
        out = F.instance_norm(input, self.running_mean, self.running_var, self.weight,
                              self.bias, use_input_stats, momentum, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    _dims = (3,)


class InstanceNorm2d(_InstanceNorm):
    _dims = (4,)


class InstanceNorm3d(_InstanceNorm):
    _dims = (5,)


class GroupNorm(Module):
    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device: Any = None, dtype: Any = None):
        super().__init__()
        if num_channels % num_groups:
            raise ShapeError(with_location(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups})"))
        self.num_groups, self.num_channels, self.eps, self.affine = (
            num_groups, num_channels, eps, affine)
        dt = dtype if dtype is not None else dtypes.default_float()
        if affine:
            self.weight = Parameter(O.ones(num_channels, dtype=dt))
            self.bias = Parameter(O.zeros(num_channels, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class RMSNorm(Module):
    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, device: Any = None, dtype: Any = None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(
            normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        dt = dtype if dtype is not None else dtypes.default_float()
        if elementwise_affine:
            self.weight = Parameter(O.ones(*shape, dtype=dt))
        else:
            self.register_parameter("weight", None)

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, " \
               f"elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
