"""torch's spellings and small composites over existing ops: type queries
(`result_type`, `promote_types`, `finfo`, `is_floating_point`), the alias names
(`multiply`, `greater`, `arctan2`, ...), elementwise composites (`logit`, `heaviside`,
`fmax`, `signbit`, `float_power`), NaN-aware reductions and quantiles. Each is `lm.f`
and, where torch has one, the method `Tensor.f`."""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, DimError, DTypeError, ShapeError, like, with_location
from lamina.frontend import math_extra as X
from lamina.frontend import movement as M
from lamina.frontend import ops as O
from lamina.frontend.ops import method
from lamina.frontend.tensor import Tensor

__all__ = [
    "result_type", "promote_types", "can_cast", "finfo", "iinfo", "is_floating_point",
    "is_complex", "is_signed", "is_nonzero", "is_same_size", "clone", "detach",
    "scalar_tensor", "empty_like", "clamp_min", "clamp_max", "multiply", "subtract",
    "swapaxes", "negative", "positive", "absolute", "arctan", "arctan2", "greater",
    "greater_equal", "less", "less_equal", "not_equal", "rsub", "sgn", "signbit",
    "heaviside", "fmax", "fmin", "logit", "ldexp", "float_power", "nansum", "nanmean",
    "quantile", "nanquantile",
]


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else O.tensor(x)


def _dim(x: Tensor, dim: int, op: str) -> int:
    rank = builtins.max(x.ndim, 1)
    if not -rank <= dim < rank:
        raise DimError(with_location(
            f"{op}: dim {dim} is out of range for a tensor of shape {list(x.shape)} "
            f"(expected a dim in [{-rank}, {rank - 1}])"))
    return dim % rank


# ---------------------------------------------------------------- dtypes


def result_type(tensor1: Any, tensor2: Any) -> dtypes.DType:
    """torch.result_type: the dtype an op of the two operands computes in."""
    return O.result_dtype(tensor1, tensor2)


def promote_types(type1: Any, type2: Any) -> dtypes.DType:
    """torch.promote_types: the smallest dtype both promote to (tensor rules, no scalars)."""
    a, b = dtypes.as_dtype(type1), dtypes.as_dtype(type2)
    return O.result_dtype(O.zeros((1,), dtype=a), O.zeros((1,), dtype=b))


def can_cast(from_: Any, to: Any) -> bool:
    """torch.can_cast: casting may not lower the kind (float to int, int to bool)."""
    return dtypes.as_dtype(from_).category <= dtypes.as_dtype(to).category


class finfo:  # noqa: N801  (torch's name)
    """torch.finfo(dtype): the limits of a floating dtype (the default float if none)."""

    def __init__(self, type: Any = None) -> None:
        dt = dtypes.default_float() if type is None else dtypes.as_dtype(type)
        if not dt.is_floating_point:
            raise like(DTypeError, TypeError)(with_location(
                f"finfo: {dt.name} is not a floating point dtype"))
        if dt.name == "bfloat16":
            import ml_dtypes

            info = ml_dtypes.finfo(ml_dtypes.bfloat16)
        else:
            info = np.finfo(dt.np_dtype)
        self.bits, self.dtype = int(info.bits), dt.name
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = 10.0 ** -int(info.precision)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, "
                f"eps={self.eps}, smallest_normal={self.smallest_normal}, "
                f"tiny={self.tiny}, dtype={self.dtype})")


class iinfo:  # noqa: N801  (torch's name)
    """torch.iinfo(dtype): the limits of an integer dtype."""

    def __init__(self, type: Any) -> None:
        dt = dtypes.as_dtype(type)
        if dt.category != 1:
            raise like(DTypeError, TypeError)(with_location(
                f"iinfo: {dt.name} is not an integer dtype"))
        info = np.iinfo(dt.np_dtype)
        self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), \
            int(info.min), dt.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


@method
def is_floating_point(input) -> bool:
    return _t(input).dtype.is_floating_point


@method
def is_complex(input) -> bool:
    return False  # lamina has no complex dtypes


@method
def is_signed(input) -> bool:
    dt = _t(input).dtype
    return dt.category == 2 or (dt.category == 1 and np.dtype(dt.np_dtype).kind == "i")


@method
def is_nonzero(input) -> bool:
    """torch.is_nonzero: the truth of a one-element tensor (RuntimeError otherwise)."""
    x = _t(input)
    if x.numel() != 1:
        raise like(ShapeError, RuntimeError)(with_location(
            f"is_nonzero: Boolean value of Tensor with {'no values' if x.numel() == 0 else 'more than one value'} is ambiguous"))
    return bool(x.item())


@method
def is_same_size(input, other) -> bool:
    return tuple(_t(input).shape) == tuple(_t(other).shape)


# ---------------------------------------------------------------- spellings of other ops


def clone(input, *, memory_format: Any = None) -> Tensor:
    return _t(input).clone()


def detach(input) -> Tensor:
    return _t(input).detach()


def scalar_tensor(s: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
                  pin_memory: Any = None, requires_grad: bool = False) -> Tensor:
    """torch.scalar_tensor: a 0-d tensor of the default float dtype."""
    return O.full((), s, dtype=dtype or dtypes.default_float()).requires_grad_(requires_grad)


def empty_like(input, *, dtype: Any = None, layout: Any = None, device: Any = None,
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    x = _t(input)
    return O.zeros(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


@method
def clamp_min(input, min) -> Tensor:
    return O.clamp(input, min, None)


@method
def clamp_max(input, max) -> Tensor:
    return O.clamp(input, None, max)


@method
def multiply(input, other) -> Tensor:
    return O.mul(input, other)


@method
def subtract(input, other, *, alpha: Any = 1) -> Tensor:
    return O.sub(input, other if alpha == 1 else O.mul(other, alpha))


@method
def swapaxes(input, axis0: int, axis1: int) -> Tensor:
    return O.transpose(input, axis0, axis1)


@method
def negative(input) -> Tensor:
    return O.neg(input)


@method
def positive(input) -> Tensor:
    x = _t(input)
    if x.dtype == dtypes.bool_:  # torch: RuntimeError
        raise like(DTypeError, RuntimeError)(with_location(
            "positive: the + operator does not support bool tensors"))
    return x


@method
def absolute(input) -> Tensor:
    return O.abs(input)


@method
def arctan(input) -> Tensor:
    return O.atan(input)


@method
def arctan2(input, other) -> Tensor:
    return O.atan2(input, other)


@method
def greater(input, other) -> Tensor:
    return O.gt(input, other)


@method
def greater_equal(input, other) -> Tensor:
    return O.ge(input, other)


@method
def less(input, other) -> Tensor:
    return O.lt(input, other)


@method
def less_equal(input, other) -> Tensor:
    return O.le(input, other)


@method
def not_equal(input, other) -> Tensor:
    return O.ne(input, other)


def rsub(input, other, *, alpha: Any = 1) -> Tensor:
    """torch.rsub: other - alpha * input."""
    return O.sub(other, input if alpha == 1 else O.mul(input, alpha))


# ---------------------------------------------------------------- elementwise composites


@method
def sgn(input) -> Tensor:
    return O.sign(input)  # real tensors: sgn is sign


@method
def signbit(input) -> Tensor:
    """True where the sign bit is set: negative numbers, -0.0 and NaNs with the bit."""
    x = _t(input)
    if x.dtype == dtypes.bool_ or (x.dtype.category == 1 and not is_signed(x)):
        return O.zeros(x.shape, dtype=dtypes.bool_)
    if x.dtype.category == 1:
        return O.lt(x, 0)
    # copysign(1, x) carries the sign bit of zeros and NaNs too
    return O.lt(O.copysign(O.ones((), dtype=x.dtype), x), 0)


@method
def heaviside(input, values) -> Tensor:
    """0 where input < 0 (or NaN), values where input == 0, 1 where input > 0."""
    x, v = _t(input), _t(values)
    if x.dtype != v.dtype:  # torch: RuntimeError
        raise like(DTypeError, RuntimeError)(with_location(
            f"heaviside: input ({x.dtype.name}) and values ({v.dtype.name}) must have the "
            f"same dtype"))
    dt = x.dtype
    step = O.where(O.gt(x, 0), O.ones((), dtype=dt), O.zeros((), dtype=dt))
    return O.where(O.eq(x, 0), v, step)


def _nan_aware(op: str, input, other, pick) -> Tensor:
    a, b = O._operands(op, input, other, dtype=O.result_dtype(input, other))
    if not a.dtype.is_floating_point:
        return pick(a, b)
    # the non-NaN operand where exactly one is NaN (torch's fmax/fmin)
    return O.where(X.isnan(a), b, O.where(X.isnan(b), a, pick(a, b)))


@method
def fmax(input, other) -> Tensor:
    return _nan_aware("fmax", input, other, O.maximum)


@method
def fmin(input, other) -> Tensor:
    return _nan_aware("fmin", input, other, O.minimum)


@method
def logit(input, eps: float | None = None) -> Tensor:
    """log(p / (1 - p)), p clamped to [eps, 1 - eps] when eps is given."""
    x = _t(input)
    if not x.dtype.is_floating_point:
        x = x.to(dtypes.default_float())
    if eps is not None:
        x = O.clamp(x, eps, 1 - eps)
    return O.log(O.div(x, O.sub(1, x)))


@method
def ldexp(input, other) -> Tensor:
    """input * 2**other, in a floating dtype."""
    x = _t(input)
    dt = O.result_dtype(x, other)
    dt = dt if dt.is_floating_point else dtypes.default_float()
    return O.mul(x.to(dt), O.exp2(_t(other).to(dt)))


@method
def float_power(input, exponent) -> Tensor:
    """input ** exponent in float64 (torch's float_power)."""
    base = input.to(dtypes.float64) if isinstance(input, Tensor) else input
    exp = exponent.to(dtypes.float64) if isinstance(exponent, Tensor) else exponent
    if not isinstance(base, Tensor):
        base = O.full((), base, dtype=dtypes.float64)
    return O.pow(base, exp)


# ---------------------------------------------------------------- NaN-aware reductions


@method
def nansum(input, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    x = _t(input)
    if x.dtype.is_floating_point:
        x = O.where(X.isnan(x), O.zeros((), dtype=x.dtype), x)
    return O.sum(x, dim, keepdim, dtype=dtype)


@method
def nanmean(input, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    x = _t(input)
    if not x.dtype.is_floating_point:  # torch: RuntimeError for integer inputs
        raise like(DTypeError, RuntimeError)(with_location(
            f"nanmean(): expected input to have floating point dtype but got {x.dtype.name}"))
    count = O.sum(O.logical_not(X.isnan(x)), dim, keepdim).to(dtype or x.dtype)
    return O.div(nansum(x, dim, keepdim, dtype=dtype), count)


def _quantile(op: str, input, q, dim, keepdim, interpolation, ignore_nan) -> Tensor:
    from lamina.frontend import sorting

    x = _t(input)
    if not x.dtype.is_floating_point:  # torch: RuntimeError
        raise like(DTypeError, RuntimeError)(with_location(
            f"{op}() input tensor must be either float or double dtype, got {x.dtype.name}"))
    methods = ("linear", "lower", "higher", "midpoint", "nearest")
    if interpolation not in methods:
        raise ArgumentError(with_location(
            f"{op}() interpolation must be one of {', '.join(methods)}. Got {interpolation}"))
    scalar_q = not isinstance(q, Tensor) or q.ndim == 0
    qs = np.atleast_1d(np.asarray(q.numpy() if isinstance(q, Tensor) else q, np.float64))
    if qs.ndim > 1:
        raise ShapeError(with_location(f"{op}() q must be a scalar or 1D tensor"))
    if isinstance(q, Tensor) and q.dtype != x.dtype:
        raise like(DTypeError, RuntimeError)(with_location(
            f"{op}() q tensor must be same dtype as the input tensor"))
    if ((qs < 0) | (qs > 1)).any():
        raise ArgumentError(with_location(f"{op}() q values must be in the range [0, 1]"))
    if dim is None:
        x, d = O.reshape(x, -1), 0
    else:
        d = _dim(x, dim, op)
    if x.ndim == 0:
        x, d = O.reshape(x, 1), 0
    n = x.shape[d]
    if n == 0:
        raise like(ShapeError, IndexError)(with_location(f"{op}() input tensor must be non-empty"))
    values = sorting.sort(x, dim=d).values  # NaNs sort last
    if ignore_nan:
        valid = O.sum(O.logical_not(X.isnan(x)), d, keepdim=True).to(x.dtype)
    else:
        valid = O.full((), float(n), dtype=x.dtype)
    outs = []
    for qv in qs:
        rank = O.mul(O.sub(valid, 1), float(qv))
        rank = O.clamp(rank, 0, None)
        lo = O.floor(rank)
        hi = O.ceil(rank)
        if interpolation == "nearest":
            # round half to even, as torch does
            lo = hi = O.round(rank)
        keep = _keep_shape(values.shape, d)
        pick = lambda idx, keep=keep: M.gather(  # noqa: E731
            values, d, O.broadcast_to(idx.to(dtypes.int64), keep))
        a, b = pick(lo), pick(hi)
        if interpolation == "lower":
            out = a
        elif interpolation == "higher":
            out = b
        elif interpolation == "midpoint":
            out = O.add(a, O.mul(O.sub(b, a), 0.5))
        elif interpolation == "nearest":
            out = a
        else:
            out = O.add(a, O.mul(O.sub(b, a), O.sub(rank, lo)))
        if ignore_nan:  # an all-NaN slice gives NaN
            out = O.where(O.eq(valid, 0), O.full((), math.nan, dtype=x.dtype), out)
        else:  # any NaN in the slice gives NaN
            has_nan = O.any(X.isnan(x), d, keepdim=True)
            out = O.where(has_nan, O.full((), math.nan, dtype=x.dtype), out)
        outs.append(out if keepdim and dim is not None else O.squeeze(out, d))
    if keepdim and dim is None:
        outs = [O.reshape(o, (1,) * _t(input).ndim) for o in outs]
    return outs[0] if scalar_q else M.stack(outs, 0)


def _keep_shape(shape: Sequence[int], d: int) -> tuple[int, ...]:
    return tuple(1 if i == d else n for i, n in enumerate(shape))


@method
def quantile(input, q, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


@method
def nanquantile(input, q, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)
