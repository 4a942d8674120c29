"""Convolution modules: Conv1d/2d/3d (groups, dilation, padding 'same'/'valid', padding
modes zeros/reflect/replicate/circular) and ConvTranspose1d/2d/3d (output_padding,
groups, `output_size=` at call time), with torch's parameter shapes and default
initialization (kaiming-uniform with a = sqrt(5), bias uniform in ±1/sqrt(fan_in))."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lamina.errors import ArgumentError, ShapeError, with_location
from lamina.frontend import linalg, movement
from lamina.frontend.tensor import Tensor
from lamina.nn import init
from lamina.nn.layers import _empty
from lamina.nn.module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    return value * n if len(value) == 1 else value


class _ConvBase(Module):
    _nd = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any,
                 padding: Any, dilation: Any, groups: int, bias: bool, padding_mode: str,
                 transposed: bool, output_padding: Any = 0, device: Any = None,
                 dtype: Any = None):
        super().__init__()
        name = type(self).__name__
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0 or (
                in_channels % groups or out_channels % groups):  # torch: ValueError
            raise ArgumentError(with_location(
                f"{name}: groups={groups} must be positive and divide in_channels "
                f"({in_channels}) and out_channels ({out_channels})"))
        if padding_mode not in _PADDING_MODES:
            raise ArgumentError(with_location(
                f"{name}: padding_mode must be one of {list(_PADDING_MODES)}, got "
                f"{padding_mode!r}"))
        nd = self._nd
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _ntuple(kernel_size, nd), _ntuple(stride, nd)
        self.dilation = _ntuple(dilation, nd)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, nd)
        self.output_padding = _ntuple(output_padding, nd)
        self.padding_mode, self.transposed = padding_mode, transposed
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ArgumentError(with_location(
                f"{name}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}"))
        shape = ((in_channels, out_channels // groups) if transposed
                 else (out_channels, in_channels // groups))
        self.weight = _empty(*shape, *self.kernel_size, dtype=dtype)
        if bias:
            self.bias = _empty(out_channels, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * self._nd:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _ConvNd(_ConvBase):
    _conv: Any = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None):
        if padding == "same" and any(s != 1 for s in _ntuple(stride, self._nd)):
            raise ArgumentError(with_location(
                f"{type(self).__name__}: padding='same' is not supported for strided "
                "convolutions"))
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, False, 0, device, dtype)

    def _mode_pads(self) -> list[int]:
        """F.pad's amounts (last dim first) for a non-zeros padding mode."""
        if self.padding == "valid":
            return [0, 0] * self._nd
        if self.padding == "same":
            per_dim = []
            for k, d in zip(self.kernel_size, self.dilation, strict=True):
                total = d * (k - 1)
                per_dim.append((total // 2, total - total // 2))
        else:
            per_dim = [(p, p) for p in self.padding]
        return [a for lo_hi in reversed(per_dim) for a in lo_hi]

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode != "zeros":
            padded = movement.pad(input, self._mode_pads(), mode=self.padding_mode)
            return type(self)._conv(padded, self.weight, self.bias, self.stride, 0,
                                    self.dilation, self.groups)
        return type(self)._conv(input, self.weight, self.bias, self.stride, self.padding,
                                self.dilation, self.groups)


class Conv1d(_ConvNd):
    _nd, _conv = 1, staticmethod(linalg.conv1d)


class Conv2d(_ConvNd):
    _nd, _conv = 2, staticmethod(linalg.conv2d)


class Conv3d(_ConvNd):
    _nd, _conv = 3, staticmethod(linalg.conv3d)


class _ConvTransposeNd(_ConvBase):
    _conv: Any = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None):
        if padding_mode != "zeros":
            raise ArgumentError(with_location(
                f"Only 'zeros' padding mode is supported for {type(self).__name__}"))
        if isinstance(padding, str):
            raise ArgumentError(with_location(
                f"{type(self).__name__}: padding must be an int or a tuple, got {padding!r}"))
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, True, output_padding, device, dtype)

    def _output_padding(self, input: Tensor, output_size: Sequence[int] | None
                        ) -> tuple[int, ...]:
        """torch's rule: the output_padding that makes the result `output_size`."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        size = list(output_size)[-nd:]
        if len(size) != nd:
            raise ShapeError(with_location(
                f"{type(self).__name__}: output_size must have {nd} or {nd + 2} elements, "
                f"got {list(output_size)}"))
        extra = []
        for i in range(nd):
            n = input.shape[input.ndim - nd + i]
            smallest = ((n - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not smallest <= size[i] < smallest + self.stride[i]:
                raise ShapeError(with_location(
                    f"{type(self).__name__}: requested an output size of {size}, but valid "
                    f"sizes range from {smallest} to {smallest + self.stride[i] - 1} (for an "
                    f"input of shape {list(input.shape)})"))
            extra.append(size[i] - smallest)
        return tuple(extra)

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        return type(self)._conv(input, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(input, output_size), self.groups,
                                self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    _nd, _conv = 1, staticmethod(linalg.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    _nd, _conv = 2, staticmethod(linalg.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    _nd, _conv = 3, staticmethod(linalg.conv_transpose3d)
