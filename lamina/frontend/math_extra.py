"""Composite math with torch's names and semantics, written over existing ops (each an
exact decomposition, so autodiff differentiates it and every backend runs it):
elementwise composites (`lerp`, `hypot`, `logaddexp`, `xlogy`, `nan_to_num`, the `is*`
predicates, `isclose`), softmax, the fused multiply-adds (`addmm`, `addcmul`, ...),
moments (`var_mean`, `aminmax`, `count_nonzero`) and norms (`linalg.vector_norm`,
`matrix_norm`, `norm`, `cdist`, `cross`).

A recurring trick: where a branch of `where` is not taken, its operands are made safe
(`x / 1` instead of `x / 0`), because its cotangent is 0 and 0 * inf would be NaN."""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, DimError, DTypeError, ShapeError, like, with_location
from lamina.frontend import ops as O
from lamina.frontend.ops import method
from lamina.frontend.tensor import Tensor

__all__ = [
    "frac", "lerp", "hypot", "logaddexp", "logaddexp2", "xlogy", "sinc", "deg2rad",
    "rad2deg", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "nan_to_num",
    "isclose", "allclose", "equal", "softmax", "log_softmax", "addmm", "addbmm", "baddbmm",
    "addmv", "addr", "addcmul", "addcdiv", "std_mean", "var_mean", "count_nonzero",
    "aminmax", "cross", "norm", "cdist", "trace",
]


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else O.tensor(x)


def _floats(op: str, *xs: Any) -> list[Tensor]:
    """xs promoted (integers to the default float) and broadcast."""
    dt = O.result_dtype(*xs)
    return O._operands(op, *xs, dtype=dt if dt.is_floating_point else dtypes.default_float())


def _float_kernel_only(op: str, *xs: Any) -> None:
    """torch has only float kernels of `op` (NotImplementedError for integers)."""
    dt = O.result_dtype(*xs)
    if not dt.is_floating_point:
        raise like(DTypeError, NotImplementedError)(with_location(
            f"{op}: not implemented for {dt.name} tensors (needs floating point)"))


# ---------------------------------------------------------------- elementwise


@method
def frac(x):
    """x - trunc(x), with x's sign; frac(inf) is NaN."""
    x = _t(x)
    _float_kernel_only("frac", x)
    return O.sub(x, O.trunc(x))


@method
def lerp(input, end, weight):
    """input + weight * (end - input), in torch's two-sided form (exact at weight 1)."""
    _float_kernel_only("lerp", input, end)
    start, stop, w = O._operands("lerp", input, end, weight,
                                 dtype=O.result_dtype(input, end))
    diff = O.sub(stop, start)
    low = O.lt(O.abs(w), 0.5)
    return O.where(low, O.add(start, O.mul(w, diff)), O.sub(stop, O.mul(diff, O.sub(1.0, w))))


@method
def hypot(input, other):
    """sqrt(a^2 + b^2) without overflow or underflow (scaled by max(|a|, |b|)); an
    infinite operand gives inf even beside a NaN, as C's hypot."""
    _float_kernel_only("hypot", input, other)
    a, b = O._operands("hypot", input, other)
    m = O.maximum(O.abs(a), O.abs(b))
    safe = O.where(O.eq(m, 0), O.ones_like(m), m)
    r = O.mul(m, O.sqrt(O.add(O.square(O.div(a, safe)), O.square(O.div(b, safe)))))
    return O.where(O.logical_or(isinf(a), isinf(b)), float("inf"), r)


def _logaddexp(op: str, input: Any, other: Any, base2: bool) -> Tensor:
    _float_kernel_only(op, input, other)
    a, b = O._operands(op, input, other)
    m = O.maximum(a, b)
    both_inf = O.logical_and(isinf(a), O.eq(a, b))  # inf - inf would be NaN
    d = O.neg(O.abs(O.sub(a, O.where(both_inf, O.zeros_like(b), b))))
    if base2:
        r = O.add(m, O.div(O.log1p(O.exp2(d)), math.log(2.0)))
    else:
        r = O.add(m, O.log1p(O.exp(d)))
    return O.where(both_inf, a, r)


@method
def logaddexp(input, other):
    """log(e^a + e^b), stable: max(a, b) + log1p(e^-|a - b|)."""
    return _logaddexp("logaddexp", input, other, False)


@method
def logaddexp2(input, other):
    """log2(2^a + 2^b), stable."""
    return _logaddexp("logaddexp2", input, other, True)


@method
def xlogy(input, other):
    """x * log(y); +0 where x == 0 unless y is NaN (torch's rule). torch's gradient for x
    is log(y) there too (0 where y <= 0): the x == 0 branch is x * c + 0.0 with c that
    log held constant (finite, so the value is +0 and never 0 * inf)."""
    x, y = _floats("xlogy", input, other)
    zero = O.logical_and(O.eq(x, 0), O.eq(y, y))
    positive = O.logical_and(O.gt(y, 0), O.lt(y, float("inf")))
    slope = O.stop_gradient(O.where(positive, O.log(O.where(positive, y, O.ones_like(y))), 0.0))
    safe_y = O.where(zero, O.ones_like(y), y)
    return O.where(zero, O.add(O.mul(x, slope), 0.0), O.mul(x, O.log(safe_y)))


@method
def sinc(input):
    """sin(pi x) / (pi x), 1 at 0 (with gradient 0 there)."""
    (x,) = _floats("sinc", input)
    zero = O.eq(x, 0)
    px = O.mul(O.where(zero, O.ones_like(x), x), math.pi)
    return O.where(zero, 1.0, O.div(O.sin(px), px))


@method
def deg2rad(input):
    (x,) = _floats("deg2rad", input)
    return O.mul(x, math.pi / 180.0)


@method
def rad2deg(input):
    (x,) = _floats("rad2deg", input)
    return O.mul(x, 180.0 / math.pi)


def _predicate(x: Any, fn, integers: bool) -> Tensor:
    x = _t(x)
    if not x.dtype.is_floating_point:  # integers and bools are finite numbers
        return O.full(x.shape, integers, dtype=dtypes.bool_)
    return fn(x)


@method
def isnan(input):
    return _predicate(input, lambda x: O.ne(x, x), False)


@method
def isinf(input):
    return _predicate(input, lambda x: O.eq(O.abs(x), float("inf")), False)


@method
def isfinite(input):
    return _predicate(input, lambda x: O.lt(O.abs(x), float("inf")), True)


@method
def isposinf(input):
    return _predicate(input, lambda x: O.eq(x, float("inf")), False)


@method
def isneginf(input):
    return _predicate(input, lambda x: O.eq(x, float("-inf")), False)


@method
def nan_to_num(input, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None):
    """NaN, +inf and -inf replaced (by default with 0 and the dtype's extremes);
    integer tensors come back unchanged (a copy)."""
    x = _t(input)
    if not x.dtype.is_floating_point:
        return O.fresh(x)
    info = _finfo(x.dtype)
    hi = info.max if posinf is None else posinf
    lo = -info.max if neginf is None else neginf
    out = O.where(O.eq(x, float("inf")), float(hi), x)
    out = O.where(O.eq(x, float("-inf")), float(lo), out)
    return O.where(O.ne(x, x), float(nan), out)


def _finfo(dt: dtypes.DType):
    try:
        return np.finfo(dt.np_dtype)
    except ValueError:  # bfloat16 (ml_dtypes)
        import ml_dtypes

        return ml_dtypes.finfo(dt.np_dtype)


@method
def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """|a - b| <= atol + rtol * |b| where that difference is finite, or a == b (equal
    infinities), or both NaN with `equal_nan`; integers are compared exactly."""
    a, b = _t(input), _t(other)
    if a.dtype != b.dtype:  # torch: RuntimeError "Long did not match Float"
        raise like(DTypeError, RuntimeError)(with_location(
            f"isclose: {a.dtype.name} did not match {b.dtype.name} (the dtypes must agree)"))
    if rtol < 0 or atol < 0:
        raise ArgumentError(with_location(
            f"isclose: rtol and atol must be non-negative, got rtol={rtol} and atol={atol}"))
    close = O.eq(a, b)
    if equal_nan and a.dtype.is_floating_point:
        close = O.logical_or(close, O.logical_and(isnan(a), isnan(b)))
    if a.dtype == dtypes.bool_ or (rtol == 0 and atol == 0):
        return close
    if not a.dtype.is_floating_point:
        a, b = a.to(dtypes.float64), b.to(dtypes.float64)
    actual = O.abs(O.sub(a, b))
    allowed = O.add(O.abs(O.mul(b, rtol)), atol)
    return O.logical_or(close, O.logical_and(isfinite(actual), O.le(actual, allowed)))


@method
def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
             ) -> bool:
    return bool(O.all(isclose(input, other, rtol, atol, equal_nan)).item())


@method
def equal(input, other) -> bool:
    """Same shape and the same values (NaN equals nothing)."""
    a, b = _t(input), _t(other)
    if a.shape != b.shape:
        return False
    return bool(O.all(O.eq(a, b)).item())


# ---------------------------------------------------------------- softmax


def _softmax_dim(input: Tensor, dim: int | None, op: str) -> int:
    if dim is None:  # torch's legacy implicit choice
        dim = 0 if input.ndim in (0, 1, 3) else 1
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise ArgumentError(with_location(f"{op}: dim must be an int, got {dim!r:.30}"))
    if not -builtins.max(input.ndim, 1) <= dim < builtins.max(input.ndim, 1):
        raise DimError(with_location(
            f"{op}: dim {dim} is out of range for a tensor of shape {list(input.shape)}"))
    return dim


def _shifted(input: Tensor, dim: int, dtype: Any, op: str) -> Tensor:
    """input - max(input) along dim: the result of softmax does not depend on the shift,
    so its gradient need not flow through it (a `stop_gradient`)."""
    if dtype is not None:
        input = input.to(dtype)
    elif not input.dtype.is_floating_point:  # torch: "... not implemented for 'Long'"
        raise like(DTypeError, NotImplementedError)(with_location(
            f"{op}: needs a floating-point tensor, got {input.dtype.name} (pass dtype=)"))
    if input.ndim and input.shape[dim] == 0:  # nothing to normalize (and no max to shift by)
        return input
    return O.sub(input, O.stop_gradient(O.amax(input, dim, keepdim=True)))


@method
def softmax(input, dim: int | None = None, dtype: Any = None):
    dim = _softmax_dim(_t(input), dim, "softmax")
    z = O.exp(_shifted(_t(input), dim, dtype, "softmax"))
    return O.div(z, O.sum(z, dim, keepdim=True))


@method
def log_softmax(input, dim: int | None = None, dtype: Any = None):
    dim = _softmax_dim(_t(input), dim, "log_softmax")
    z = _shifted(_t(input), dim, dtype, "log_softmax")
    return O.sub(z, O.log(O.sum(O.exp(z), dim, keepdim=True)))


# ---------------------------------------------------------------- multiply-adds


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    from lamina.frontend import linalg

    return linalg.matmul(a, b)


def _scaled_sum(input: Any, product: Tensor, beta: Any, alpha: Any, op: str) -> Tensor:
    """beta * input + alpha * product; beta == 0 ignores input (its NaNs too), as torch.
    On integer tensors torch truncates beta and alpha to integers (0.6 counts as 0)."""
    input = _t(input)
    beta, alpha = _scale(beta, input, product), _scale(alpha, input, product)
    if alpha != 1:
        product = O.mul(product, alpha)
    shape = O.broadcast_shapes(input.shape, product.shape, op=op)
    if shape != product.shape:
        raise ShapeError(with_location(
            f"{op}: input of shape {list(input.shape)} does not broadcast to the product's "
            f"shape {list(product.shape)}"))
    if beta == 0:
        dt = O.result_dtype(input, product)
        return O.broadcast_to(product.to(dt) if product.dtype != dt else product, shape)
    return O.add(input if beta == 1 else O.mul(input, beta), product)


def _scale(v: Any, *xs: Any) -> Any:
    """A scalar factor as torch applies it: truncated to an int for integer tensors."""
    dt = O.result_dtype(*xs)
    if isinstance(v, bool) or dt.is_floating_point:
        return v
    if dt == dtypes.bool_:  # torch: beta and alpha act as bools on bool tensors
        return bool(v)
    return int(v) if isinstance(v, float | int | np.floating | np.integer) else v


def _need(x: Tensor, ndim: int, op: str, name: str) -> None:
    if x.ndim != ndim:
        raise ShapeError(with_location(
            f"{op}: {name} must be a {ndim}-D tensor, got shape {list(x.shape)}"))


@method
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    mat1, mat2 = _t(mat1), _t(mat2)
    _need(mat1, 2, "addmm", "mat1")
    _need(mat2, 2, "addmm", "mat2")
    return _scaled_sum(input, _matmul(mat1, mat2), beta, alpha, "addmm")


@method
def addmv(input, mat, vec, *, beta=1, alpha=1):
    mat, vec = _t(mat), _t(vec)
    _need(mat, 2, "addmv", "mat")
    _need(vec, 1, "addmv", "vec")
    return _scaled_sum(input, _matmul(mat, vec), beta, alpha, "addmv")


@method
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    vec1, vec2 = _t(vec1), _t(vec2)
    _need(vec1, 1, "addr", "vec1")
    _need(vec2, 1, "addr", "vec2")
    outer = O.mul(O.reshape(vec1, (-1, 1)), O.reshape(vec2, (1, -1)))
    return _scaled_sum(input, outer, beta, alpha, "addr")


@method
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    batch1, batch2 = _t(batch1), _t(batch2)
    _need(batch1, 3, "baddbmm", "batch1")
    _need(batch2, 3, "baddbmm", "batch2")
    return _scaled_sum(input, _matmul(batch1, batch2), beta, alpha, "baddbmm")


@method
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    batch1, batch2 = _t(batch1), _t(batch2)
    _need(batch1, 3, "addbmm", "batch1")
    _need(batch2, 3, "addbmm", "batch2")
    product = _matmul(batch1, batch2)
    return _scaled_sum(input, O.sum(product, 0, dtype=product.dtype), beta, alpha, "addbmm")


@method
def addcmul(input, tensor1, tensor2, *, value=1):
    product = O.mul(tensor1, tensor2)
    value = _scale(value, input, product)
    return O.add(input, product if value == 1 else O.mul(product, value))


@method
def addcdiv(input, tensor1, tensor2, *, value=1):
    t1, t2 = _t(tensor1), _t(tensor2)
    if not (t1.dtype.is_floating_point or t2.dtype.is_floating_point):
        raise like(DTypeError, RuntimeError)(with_location(
            "addcdiv: integer division with addcdiv is not supported (as in torch); use "
            "true division of floats"))
    quotient = O.div(t1, t2)
    return O.add(input, quotient if value == 1 else O.mul(quotient, value))


# ---------------------------------------------------------------- moments


def _mean_dim(dim: Any) -> Any:
    return None if isinstance(dim, bool) else dim  # torch's (input, unbiased) overload


def var_mean(input, dim=None, unbiased: bool = True, keepdim: bool = False, *, correction=None):
    x = _t(input)
    v = O.var(x, dim, unbiased, keepdim, correction=correction)
    return v, O.mean(x, _mean_dim(dim), keepdim)


def std_mean(input, dim=None, unbiased: bool = True, keepdim: bool = False, *, correction=None):
    x = _t(input)
    s = O.std(x, dim, unbiased, keepdim, correction=correction)
    return s, O.mean(x, _mean_dim(dim), keepdim)


@method
def count_nonzero(input, dim=None):
    return O.sum(O.ne(_t(input), 0), dim)


class _MinMax(tuple):
    """(min, max), as torch.aminmax returns (a plain tuple to lm.jit's pytrees)."""

    @property
    def min(self):
        return self[0]

    @property
    def max(self):
        return self[1]


@method
def aminmax(input, *, dim=None, keepdim: bool = False):
    x = _t(input)
    return _MinMax((O.amin(x, dim, keepdim), O.amax(x, dim, keepdim)))


# ---------------------------------------------------------------- products and norms


def cross_along(a: Tensor, b: Tensor, dim: int, op: str) -> Tensor:
    shape = O.broadcast_shapes(a.shape, b.shape, op=op)
    a, b = O._operands(op, a, b)
    d = O._dim(a, dim, op)
    if shape[d] != 3:
        raise ShapeError(with_location(
            f"{op}: dim {dim} of shape {list(shape)} must have size 3"))
    from lamina.frontend.movement import roll

    a1, a2 = roll(a, -1, d), roll(a, -2, d)
    b1, b2 = roll(b, -1, d), roll(b, -2, d)
    return O.sub(O.mul(a1, b2), O.mul(a2, b1))


@method
def cross(input, other, dim: int | None = None):
    """The cross product along `dim` (by default torch.cross's: the first dim of size 3)."""
    a, b = _t(input), _t(other)
    if dim is None:
        shape = O.broadcast_shapes(a.shape, b.shape, op="cross")
        sizes = [i for i, n in enumerate(shape) if n == 3]
        if not sizes:
            raise ShapeError(with_location(
                f"cross: no dim of size 3 in the shape {list(shape)}"))
        dim = sizes[0]
    return cross_along(a, b, dim, "cross")


def _norm_dims(x: Tensor, dim: Any, op: str) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(x.ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = tuple(O._dim(x, d, op) for d in dims)
    if len(set(out)) != len(out):
        raise DimError(with_location(f"{op}: dim {dim} names a dim twice"))
    return out


def vector_norm(x, ord: float = 2, dim=None, keepdim: bool = False, *, dtype: Any = None):
    """torch.linalg.vector_norm: (sum |x|^ord)^(1/ord) over `dim` (all dims by default);
    ord inf / -inf: max / min of |x|, ord 0: the count of nonzeros. The gradient of a
    zero vector is 0, as torch's."""
    x = _t(x)
    if dtype is not None:
        x = x.to(dtype)
    if not x.dtype.is_floating_point:  # torch: RuntimeError
        raise like(DTypeError, RuntimeError)(with_location(
            f"linalg.vector_norm: needs a floating-point tensor, got {x.dtype.name}"))
    if isinstance(ord, str):
        raise ArgumentError(with_location(
            f"linalg.vector_norm: ord must be a number, got {ord!r}"))
    p = float(ord)
    dims = _norm_dims(x, dim, "linalg.vector_norm")
    if x.ndim == 0:
        return O.abs(x) if p != 0 else O.ne(x, 0).to(x.dtype)
    if math.isinf(p) and builtins.any(x.shape[d] == 0 for d in dims):
        raise like(ShapeError, RuntimeError)(with_location(
            f"linalg.vector_norm: ord {ord} of an empty tensor (shape {list(x.shape)})"))
    if p == 0:  # the count of nonzeros: no gradient, as in torch
        return O.sum(O.ne(x, 0).to(x.dtype), dims, keepdim)
    if math.isinf(p):
        return (O.amax if p > 0 else O.amin)(O.abs(x), dims, keepdim)
    if p == 1:
        return O.sum(O.abs(x), dims, keepdim)
    if p == 2:
        total = O.sum(O.mul(x, x), dims, keepdim)
    else:  # |x|^p has an infinite slope at 0 for p < 1: there its gradient is 0 (torch)
        nonzero, a = O.ne(x, 0), O.abs(x)
        total = O.sum(O.where(nonzero, O.pow(O.where(nonzero, a, 1.0), p),
                              O.stop_gradient(O.pow(a, p))), dims, keepdim)
    # the root of 0 has an infinite slope: take it of 1 there, so that the gradient of a
    # zero vector is 0 (as torch's norm backward masks it) instead of 0 * inf = NaN
    zero = O.eq(total, 0)
    root = O.sqrt if p == 2 else (lambda v: O.pow(v, 1.0 / p))
    return O.where(zero, 0.0, root(O.where(zero, 1.0, total)))


def matrix_norm(A, ord: Any = "fro", dim=(-2, -1), keepdim: bool = False, *,
                dtype: Any = None):
    """torch.linalg.matrix_norm: ord 'fro', 1, -1, inf, -inf, and through the singular
    values (`linalg.svdvals`) 'nuc', 2 and -2."""
    A = _t(A)
    if dtype is not None:
        A = A.to(dtype)
    if A.ndim < 2:
        raise ShapeError(with_location(
            f"linalg.matrix_norm: needs a tensor of at least 2 dims, got shape {list(A.shape)}"))
    d0, d1 = _norm_dims(A, dim, "linalg.matrix_norm")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        from lamina.frontend.linalg_decomp import linalg_svdvals
        from lamina.frontend.shape_extra import movedim

        S = linalg_svdvals(movedim(A, (d0, d1), (-2, -1)))
        out = O.sum(S, -1) if ord == "nuc" else (O.amax if ord == 2 else O.amin)(S, -1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = O.unsqueeze(out, d)
        return out
    if ord not in (1, -1, math.inf, -math.inf):
        raise ArgumentError(with_location(f"linalg.matrix_norm: unknown ord {ord!r}"))
    if not A.dtype.is_floating_point:
        raise like(DTypeError, RuntimeError)(with_location(
            f"linalg.matrix_norm: needs a floating-point tensor, got {A.dtype.name}"))
    inner, outer = (d0, d1) if abs(ord) == 1 else (d1, d0)  # 1: max column sum
    sums = O.sum(O.abs(A), inner, keepdim=True)
    out = (O.amax if ord > 0 else O.amin)(sums, outer, keepdim=True)
    return out if keepdim else O.squeeze(out, (d0, d1))


def linalg_norm(A, ord: Any = None, dim=None, keepdim: bool = False, *, dtype: Any = None):
    """torch.linalg.norm: a vector norm, or a matrix norm for a 2-tuple dim (or a 2-D
    input with ord given and no dim)."""
    A = _t(A)
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    raise ShapeError(with_location(
        f"linalg.norm: with ord={ord!r} and no dim the input must be 1-D or 2-D, got shape "
        f"{list(A.shape)}"))


@method
def norm(input, p: Any = "fro", dim=None, keepdim: bool = False, dtype: Any = None):
    """torch.norm: p 'fro' (the 2-norm of the elements over `dim`) or a number (a vector
    norm); 'nuc' needs an SVD and is refused cleanly."""
    x = _t(input)
    if p is None or p == "fro":
        dims = None if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
        return vector_norm(x, 2, dims, keepdim, dtype=dtype)
    if p == "nuc":
        return matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    if isinstance(p, str):
        raise ArgumentError(with_location(f"norm: p must be 'fro', 'nuc' or a number, got {p!r}"))
    return vector_norm(x, p, dim, keepdim, dtype=dtype)


def cdist(x1, x2, p: float = 2.0, compute_mode: str | None = None):
    """The p-norm distance between each row of x1 (..., P, M) and each of x2 (..., R, M):
    (..., P, R)."""
    a, b = _t(x1), _t(x2)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise ShapeError(with_location(
            f"cdist: x1 {list(a.shape)} and x2 {list(b.shape)} must be (..., P, M) and "
            "(..., R, M) with the same M"))
    if p < 0:
        raise ArgumentError(with_location(f"cdist: p must be non-negative, got {p}"))
    _float_kernel_only("cdist", a, b)
    diff = O.sub(O.unsqueeze(a, -2), O.unsqueeze(b, -3))
    return vector_norm(diff, p, -1)


@method
def trace(input):
    x = _t(input)
    if x.ndim != 2:
        raise ShapeError(with_location(
            f"trace: expected a matrix (2-D), got shape {list(x.shape)}"))
    from lamina.frontend.shape_extra import diagonal

    return O.sum(diagonal(x))
