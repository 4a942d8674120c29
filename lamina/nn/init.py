"""`lm.nn.init`: PyTorch's parameter initializers (same names, same formulas).

Parameters are concrete data, so they are drawn on the host with numpy from
lamina's host generator (seeded through `lm.manual_seed`, see `generator()`), and
written into the tensor in place."""

from __future__ import annotations

import math

import numpy as np

from lamina.errors import ArgumentError, with_location
from lamina.frontend.tensor import Tensor

__all__ = [
    "calculate_gain", "constant_", "generator", "kaiming_normal_", "kaiming_uniform_", "normal_",
    "ones_", "trunc_normal_", "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_",
]


def generator() -> np.random.Generator:
    """A numpy generator seeded from lamina's generator state, which it advances: after
    `lm.manual_seed(s)` the same model is initialized the same way."""
    from lamina.frontend import random

    seed = int(random.get_rng_state())
    random.set_rng_state(seed + 1)
    return np.random.default_rng(seed)


def _fill(tensor: Tensor, array: np.ndarray) -> Tensor:
    """Overwrite a concrete tensor's data (initializers run outside any trace)."""
    array = np.asarray(array, dtype=tensor.dtype.np_dtype).reshape(tensor.shape)
    tensor._set_array(np.ascontiguousarray(array))
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ArgumentError(with_location(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}"))


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ArgumentError(with_location(
            f"fan in and fan out need a tensor of at least 2 dims, got {list(tensor.shape)}"))
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    return _fill(tensor, generator().uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    return _fill(tensor, generator().normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(tensor, np.full(tensor.shape, val))


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    if tensor.numel() == 0:  # torch: a no-op (a zero-channel layer)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    if tensor.numel() == 0:
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0) -> Tensor:
    """Normal(mean, std) redrawn until inside [a, b] (rejection sampling)."""
    out = generator().normal(mean, std, tensor.shape)
    bad = (out < a) | (out > b)
    while bad.any():
        out[bad] = generator().normal(mean, std, int(bad.sum()))
        bad = (out < a) | (out > b)
    return _fill(tensor, out)


def eye_(tensor: Tensor) -> Tensor:
    """The identity in a 2-D tensor (ones on the diagonal of a rectangle)."""
    if tensor.ndim != 2:
        raise ArgumentError(with_location(
            f"eye_: only 2-D tensors are supported, got shape {list(tensor.shape)}"))
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """A convolution kernel (3-5 dims) that passes its input through: in each group, out
    channel i reads in channel i at the kernel's centre."""
    if tensor.ndim not in (3, 4, 5):
        raise ArgumentError(with_location(
            f"dirac_: only 3-, 4- and 5-D tensors are supported, got {list(tensor.shape)}"))
    out_per_group = tensor.shape[0] // groups
    if tensor.shape[0] % groups:
        raise ArgumentError(with_location("dirac_: dim 0 must be divisible by groups"))
    array = np.zeros(tensor.shape)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for i in range(min(out_per_group, tensor.shape[1])):
            array[(g * out_per_group + i, i, *centre)] = 1
    return _fill(tensor, array)


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a normal draw (signs fixed
    by R's diagonal, as torch); tensors of more dims are flattened after dim 0."""
    if tensor.ndim < 2:
        raise ArgumentError(with_location(
            "orthogonal_: only tensors with 2 or more dimensions are supported"))
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = generator().normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, q * gain)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01) -> Tensor:
    """A 2-D tensor N(0, std) with a fraction `sparsity` of each column zeroed."""
    if tensor.ndim != 2:
        raise ArgumentError(with_location("sparse_: only 2-D tensors are supported"))
    rows, cols = tensor.shape
    gen = generator()
    array = gen.normal(0.0, std, (rows, cols))
    zeros = int(math.ceil(sparsity * rows))
    for c in range(cols):
        array[gen.permutation(rows)[:zeros], c] = 0
    return _fill(tensor, array)


def uniform(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Deprecated torch alias of `uniform_` (still used by older programs)."""
    return uniform_(tensor, a, b)


def normal(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    return normal_(tensor, mean, std)


def constant(tensor: Tensor, val: float) -> Tensor:
    return constant_(tensor, val)


def xavier_uniform(tensor: Tensor, gain: float = 1.0) -> Tensor:
    return xavier_uniform_(tensor, gain)


def xavier_normal(tensor: Tensor, gain: float = 1.0) -> Tensor:
    return xavier_normal_(tensor, gain)


def kaiming_uniform(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    return kaiming_uniform_(tensor, a, mode, nonlinearity)


def kaiming_normal(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                   nonlinearity: str = "leaky_relu") -> Tensor:
    return kaiming_normal_(tensor, a, mode, nonlinearity)


def orthogonal(tensor: Tensor, gain: float = 1.0) -> Tensor:
    return orthogonal_(tensor, gain)


__all__ += ["constant", "dirac_", "eye_", "kaiming_normal", "kaiming_uniform", "normal",
            "orthogonal", "orthogonal_", "sparse_", "uniform", "xavier_normal", "xavier_uniform"]
