"""The activations of `torch.nn.functional` beyond relu/sigmoid/tanh/silu/gelu, as
compositions of lamina ops (re-exported by `lm.nn.functional`).

Each follows torch's formula and, where torch's hand-written backward differs from
what the composition would give, its gradient: piecewise functions choose the branch
with torch's comparison (`x > 0` for leaky_relu/elu, open intervals for hardtanh and
hardsigmoid, whose gradient is 0 on the bounds), and the smooth ones use the
numerically stable forms (softplus switches to the identity past `threshold`,
logsigmoid never exponentiates a large number).
"""

from __future__ import annotations

from typing import Any

from lamina.errors import ArgumentError, ShapeError, with_location
from lamina.frontend import movement, random
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor

__all__ = [
    "celu", "elu", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh", "leaky_relu",
    "logsigmoid", "mish", "prelu", "relu6", "rrelu", "selu", "softmin", "softplus",
    "softshrink", "softsign", "tanhshrink", "threshold",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else O.tensor(x)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    x = _t(input)
    return O.where(O.gt(x, 0), x, x * negative_slope)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """leaky_relu with a learned slope per channel (dim 1), or one slope for all."""
    x, w = _t(input), _t(weight)
    if w.numel() != 1:
        channels = x.shape[1] if x.ndim >= 2 else (x.shape[0] if x.ndim == 1 else 1)
        if w.ndim != 1 or w.shape[0] != channels:
            raise ShapeError(with_location(
                f"prelu: weight of shape {list(w.shape)} does not match the {channels} "
                f"channels of an input of shape {list(x.shape)}"))
        if x.ndim >= 2:
            w = w.reshape(channels, *([1] * (x.ndim - 2)))
    elif w.ndim > 0:
        w = w.reshape(())
    return O.where(O.gt(x, 0), x, w * x)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: in training a slope drawn uniformly from [lower, upper]
    per element for the negative part; in evaluation their mean."""
    x = _t(input)
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    slope = random.rand_like(x) * (upper - lower) + lower
    return O.where(O.ge(x, 0), x, x * O.stop_gradient(slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    x = _t(input)
    return O.where(O.le(x, 0), O.expm1(_nonpositive(x)) * alpha, x)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    if alpha == 0:
        raise ArgumentError(with_location("celu: alpha must not be 0 (ZeroDivisionError)"))
    x = _t(input)
    return O.where(O.le(x, 0), O.expm1(_nonpositive(x) * (1.0 / alpha)) * alpha, x)


def _nonpositive(x: Tensor) -> Tensor:
    """x where x <= 0, else 0: what the exponential branch of elu/celu sees, so that its
    gradient is finite where the branch is not taken (+inf, NaN: the identity branch,
    gradient 1, as torch's elu_backward) and whole at 0."""
    return O.where(O.le(x, 0), x, 0.0)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta·x)) / beta, the identity where beta·x > threshold."""
    x = _t(input)
    bx = x * beta
    return O.where(O.gt(bx, threshold), x, _log1p_exp(bx) * (1.0 / beta))


def _log1p_exp(z: Tensor) -> Tensor:
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|), written with one comparison so that no
    exponent is positive (no overflow, no inf·0 in a gradient) and the gradient at
    z = 0 is sigmoid(0) = 1/2 (max and abs would each give a subgradient there)."""
    positive = O.gt(z, 0)
    return O.where(positive, z, 0) + O.log1p(O.exp(O.where(positive, -z, z)))


def softsign(input: Tensor) -> Tensor:
    x = _t(input)
    return x / (O.abs(x) + 1)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -log(1 + e^-x)."""
    return -_log1p_exp(-_t(input))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """clamp(x, min_val, max_val) whose gradient is 0 on and outside the bounds and 1
    elsewhere, NaN included (torch's hardtanh_backward; clamp's own gradient passes on
    the bounds)."""
    if min_val > max_val:
        raise ArgumentError(with_location(
            f"hardtanh: min_val ({min_val}) must not be greater than max_val ({max_val})"))
    x = _t(input)
    outside = O.logical_or(O.le(x, min_val), O.ge(x, max_val))
    return O.where(outside, O.clamp(O.stop_gradient(x), min_val, max_val), x)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6, gradient 1/6 strictly between -3 and 3."""
    x = _t(input)
    inside = O.logical_and(O.gt(x, -3.0), O.lt(x, 3.0))
    flat = O.clamp(O.stop_gradient(x) * (1.0 / 6) + 0.5, 0.0, 1.0)
    return O.where(inside, x * (1.0 / 6) + 0.5, flat)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x · relu6(x + 3) / 6; torch's gradient: 0 up to -3 included, 1 from 3 on and at
    NaN. The quadratic sees x only strictly inside (-3, 3), so that its gradient stays
    finite where it is not taken."""
    x = _t(input)
    inside = O.logical_and(O.gt(x, -3.0), O.lt(x, 3.0))
    xi = O.where(inside, x, 0.0)
    # x · 0 below -3: -0.0 as torch, and NaN at -inf (torch's -inf · relu6(-inf) / 6)
    return O.where(O.le(x, -3.0), x * 0.0, O.where(inside, xi * (xi + 3.0) * (1.0 / 6), x))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    x = _t(input)
    return x * O.tanh(softplus(x))


def tanhshrink(input: Tensor) -> Tensor:
    x = _t(input)
    return x - O.tanh(x)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    x = _t(input)
    return O.where(O.logical_and(O.ge(x, -lambd), O.le(x, lambd)), 0, x)  # NaN stays


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    if lambd < 0:
        raise ArgumentError(with_location(
            f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}"))
    x = _t(input)
    return O.where(O.le(O.abs(x), lambd), 0, x - O.sign(x) * lambd)  # NaN stays


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    x = _t(input)
    return O.where(O.le(x, threshold), value, x)  # NaN stays, as torch


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a · sigmoid(b) for the two halves a, b of `input` along `dim`."""
    x = _t(input)
    if x.ndim == 0:
        raise ShapeError(with_location("glu: does not support scalars (0-d tensors)"))
    d = dim % x.ndim
    if x.shape[d] % 2:
        raise ShapeError(with_location(
            f"glu: halving dimension must be even, but dimension {dim} is size {x.shape[d]}"))
    a, b = movement.chunk(x, 2, d)
    return a * O.sigmoid(b)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    from lamina.nn.functional import softmax

    return softmax(-_t(input), dim, dtype)

