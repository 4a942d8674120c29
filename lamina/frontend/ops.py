"""The functional tensor API (`lm.add`, `lm.where`, `lm.sum`, ...): PyTorch
semantics — broadcasting, type promotion with weak Python scalars, `dim=` and
`keepdim=` — expressed as explicit `hl` ops (every hl op sees equal shapes and
dtypes, so broadcasting and casts show in the IR)."""

from __future__ import annotations

import builtins
import functools
import inspect
import math
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.dialects import hl
from lamina.dialects.hl.base import HlOp, tensor_type
from lamina.errors import (
    ArgumentError,
    DimError,
    DTypeError,
    OutOfMemoryError,
    ShapeError,
    like,
    with_location,
)
from lamina.frontend import graph as graphs
from lamina.frontend.tensor import Tensor

__all__ = [
    "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "inference_mode",
    "is_inference_mode_enabled", "from_numpy", "is_tensor", "numel", "set_default_dtype",
    "set_default_device",
    "get_default_dtype", "as_tensor", "tensor", "full",
    "broadcast_shapes", "broadcast_to", "add", "sub", "mul", "div", "true_divide", "divide",
    "floor_divide", "remainder", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt",
    "ge", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and",
    "bitwise_or", "bitwise_xor", "where", "neg", "abs", "sign", "exp", "log", "sqrt", "rsqrt",
    "tanh", "sigmoid", "erf", "sin", "cos", "floor", "ceil", "round", "stop_gradient", "square",
    "reciprocal", "exp2", "expm1", "log1p", "log2", "log10", "tan", "atan", "atan2", "relu",
    "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsin", "arccos", "arcsinh",
    "arccosh", "arctanh", "trunc", "fix", "fmod", "copysign", "bitwise_left_shift",
    "bitwise_right_shift", "bitwise_not",
    "clamp", "clip", "sum", "prod", "mean", "var", "std", "amax", "amin", "argmax", "argmin",
    "max", "min", "all", "any", "logsumexp", "reshape", "permute", "transpose", "t",
    "unsqueeze", "squeeze", "expand", "flatten", "zeros", "ones", "empty", "zeros_like",
    "ones_like", "full_like", "arange", "linspace", "eye", "constant",
]

Scalar = bool | int | float
TensorLike = Any

# Tensor methods of the same name (`x.exp()`), installed by methods.py: a function marked
# here is both `lm.f(x)` and `x.f()`.
METHODS: dict[str, Any] = {}


def method(fn):
    METHODS[fn.__name__] = fn
    return fn


_UNSET = object()


def numpy_compat(fn):
    """A reduction that also takes numpy's spelling, as torch does for `axis` and
    `keepdims`: `np.sum(t)` calls `t.sum(axis=None, dtype=None, out=None)`, `np.std(t)`
    adds `ddof=0` (the same as torch's `correction`). `out=` is refused cleanly."""
    params = inspect.signature(fn).parameters

    @functools.wraps(fn)
    def reduction(x, *args, axis=_UNSET, keepdims=_UNSET, out=_UNSET, ddof=_UNSET, **kwargs):
        name = fn.__name__
        if name in ("max", "min") and axis is not _UNSET and out is None and not args:
            # numpy's np.max(t, axis=1) calls t.max(axis=1, out=None) and wants values
            return (amax if name == "max" else amin)(
                x, dim=axis, keepdim=False if keepdims is _UNSET else keepdims)
        if out is not _UNSET and out is not None:
            raise ArgumentError(with_location(
                f"{name}: out= is not supported (lamina returns a new tensor)"))
        for alias, arg, value in (("axis", "dim", axis), ("keepdims", "keepdim", keepdims),
                                  ("ddof", "correction", ddof)):
            if value is _UNSET:
                continue
            if arg not in params or arg in kwargs or (arg == "dim" and args):
                raise ArgumentError(with_location(
                    f"{name}() got an unexpected keyword argument {alias!r}" if arg not in
                    params else f"{name}: {alias}= and {arg} given together"))
            kwargs[arg] = value
        if "dtype" in kwargs and kwargs["dtype"] is None and "dtype" not in params:
            del kwargs["dtype"]  # numpy passes dtype=None to every reduction
        return fn(x, *args, **kwargs)

    return reduction


def numpy_keywords(fn):
    """`fn` also taking torch's numpy-style keyword spellings, `axis=` for `dim=` and
    `keepdims=` for `keepdim=` (torch's argument parser accepts both everywhere). `fn`
    itself when it has no `dim`, or already takes `axis`."""
    try:
        outer = inspect.signature(fn, follow_wrapped=False).parameters
        params = inspect.signature(fn).parameters  # a wrapper's: what it wraps
    except (TypeError, ValueError):
        return fn
    if "dim" not in params or "axis" in params or "axis" in outer or \
            getattr(fn, "_numpy_keywords", False):
        return fn
    keep = "keepdim" in params and "keepdims" not in params

    @functools.wraps(fn)
    def accepting(*args, **kwargs):
        if "axis" in kwargs:
            if "dim" in kwargs:
                raise ArgumentError(with_location(
                    f"{fn.__name__}: axis= and dim= given together"))
            kwargs["dim"] = kwargs.pop("axis")
        if keep and "keepdims" in kwargs:
            kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(*args, **kwargs)

    accepting._numpy_keywords = True
    return accepting


# ---------------------------------------------------------------- no_grad


class _GradModeState(threading.local):
    """Whether ops record gradients: per thread, as torch's grad mode (a `no_grad`
    block in one thread must not cut another thread's gradients)."""

    enabled = True


_GradMode = _GradModeState()


class no_grad:
    """`with lm.no_grad():` ops inside produce tensors that gradients do not flow through."""

    def __enter__(self) -> None:
        self._prev = _GradMode.enabled
        _GradMode.enabled = False

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self._prev

    def __call__(self, fn):
        def wrapped(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)

        return wrapped


class enable_grad(no_grad):
    def __enter__(self) -> None:
        self._prev = _GradMode.enabled
        _GradMode.enabled = True


def is_grad_enabled() -> bool:
    return _GradMode.enabled


class set_grad_enabled(no_grad):
    """`lm.set_grad_enabled(False)` switches grad mode now (for this thread); used as a
    context manager it restores the previous mode on exit, as torch's."""

    def __init__(self, mode: bool):
        self._prev = _GradMode.enabled
        self._mode = bool(mode)
        _GradMode.enabled = self._mode

    def __enter__(self) -> None:
        _GradMode.enabled = self._mode

    def __call__(self, fn):
        mode = self._mode

        def wrapped(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        _GradMode.enabled = self._prev  # (used as a decorator: not a switch)
        return wrapped


class inference_mode(no_grad):
    """torch's inference_mode: no gradient recording (lamina has no version counters to
    skip, so it is no_grad); `inference_mode(False)` records as usual."""

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)

    def __enter__(self) -> None:
        self._prev = _GradMode.enabled
        _GradMode.enabled = _GradMode.enabled and not self._mode

    def __call__(self, fn):
        mode = self._mode

        def wrapped(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapped


def is_inference_mode_enabled() -> bool:
    return False  # (inference_mode is grad mode off here; torch's flag has no effect)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing `array`'s memory (writes through either are seen by the other,
    while the tensor holds that array), as torch.from_numpy."""
    if not isinstance(array, np.ndarray):
        raise DTypeError(with_location(
            f"from_numpy: expected np.ndarray (got {type(array).__name__})"))
    return Tensor._wrap(array)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def numel(x: Tensor) -> int:
    return x.numel()


def factory(fn):
    """torch's keywords every factory takes: `device` (any device torch names is
    accepted: lamina's tensors do not live on a device, programs run where their
    backend puts them), `layout` (strided only), `pin_memory`, `memory_format`, and
    `requires_grad` (the result is a leaf that requires grad) where `fn` lacks it."""
    own_grad = "requires_grad" in inspect.signature(fn).parameters

    @functools.wraps(fn)
    def wrapper(*args: Any, device: Any = None, layout: Any = None, pin_memory: bool = False,
                memory_format: Any = None, requires_grad: bool = False, **kwargs: Any):
        if device is not None and not is_device(device):  # torch: RuntimeError
            raise like(ArgumentError, RuntimeError)(with_location(
                f"{fn.__name__}: device must be a device such as 'cpu' or 'cuda', got "
                f"{device!r:.40}"))
        if layout is not None and "strided" not in str(layout):
            raise like(ArgumentError, NotImplementedError)(with_location(
                f"{fn.__name__}: only the strided layout is supported, got {layout}"))
        if own_grad:
            kwargs["requires_grad"] = requires_grad
        out = fn(*args, **kwargs)
        if requires_grad and not own_grad:
            out = out.requires_grad_() if graphs.tracing() else \
                Tensor._wrap(out.numpy(), requires_grad=True)
        return out

    return wrapper


def is_device(x: Any) -> bool:
    """A device torch would accept: "cpu", "cuda", "cuda:1", 0 (an index), lm.device, a
    torch.device."""
    if isinstance(x, int | np.integer) and not isinstance(x, bool):
        return x >= 0
    from lamina.frontend.tensor import Device

    name = x if isinstance(x, str) else (
        str(x) if isinstance(x, Device) or type(x).__name__ == "device" else None)
    return name is not None and name.split(":")[0] in ("cpu", "cuda", "mps", "meta", "xpu")


def set_default_device(device: Any) -> None:
    """Accepted as torch's (tensors do not live on a device here); checks the name."""
    if device is not None and not is_device(device):
        raise ArgumentError(with_location(f"set_default_device: {device!r:.40} is not a device"))


def set_default_dtype(d: Any) -> None:
    """The dtype of Python floats and float factories (float32 until set), as torch's."""
    dtypes.set_default_float(dtypes.as_dtype(d))


def get_default_dtype() -> dtypes.DType:
    return dtypes.default_float()


# ---------------------------------------------------------------- emitting ops


def emit(op_cls: type[HlOp], *operands: Tensor, result_type=None, **props: Any) -> Tensor:
    """Append one hl op to the active graph and wrap its result."""
    graph = graphs.current()
    values = [t._ssa(graph) for t in operands]
    op = graph.append(op_cls.build(*values, result_type=result_type, **props))
    # (a stop_gradient's result is one no gradient flows through, as torch's detach())
    needs_grad = op_cls is not hl.StopGradientOp and builtins.any(t.needs_grad for t in operands)
    out = Tensor._from_value(op.results[0], graph, needs_grad and _GradMode.enabled)
    if needs_grad and not _GradMode.enabled and op_cls.DIFFERENTIABLE:
        # under no_grad the value is cut from the gradient graph explicitly
        out = Tensor._from_value(
            graph.append(hl.StopGradientOp.build(op.results[0])).results[0], graph, False)
    return out


@factory
def as_tensor(x: TensorLike, like: Tensor | None = None, dtype: Any = None) -> Tensor:
    """Tensors pass through; scalars become a splat of `like`'s shape; arrays become tensors."""
    if isinstance(x, Tensor):
        return x if dtype is None else x.to(dtype)
    if isinstance(x, bool | int | float | np.bool_ | np.integer | np.floating) and like is not None:
        dt = dtypes.as_dtype(dtype) if dtype is not None else like.dtype
        return full(like.shape, x, dtype=dt)
    if isinstance(x, list | tuple):
        return tensor(x, dtype=dtype)  # ragged nested lists: an ArgumentError there
    return Tensor._wrap(x, dtype=dtype)


def _holds_float64(data: Any) -> bool:
    """Whether data is, or nests, a numpy float64 (array or scalar): torch keeps those
    float64, while Python floats become the default float."""
    if isinstance(data, np.ndarray | np.generic):
        return data.dtype == np.float64
    if isinstance(data, list | tuple):
        return builtins.any(_holds_float64(d) for d in data)
    return False


@factory
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """`lm.tensor(data, dtype=, requires_grad=)`: a concrete tensor (copies the data)."""
    if isinstance(data, Tensor):
        data = data.numpy()
    if isinstance(data, list | tuple) and data and builtins.any(isinstance(d, Tensor) for d in data):
        data = [np.asarray(d) for d in data]
    try:
        array = np.array(data, copy=True)
    except ValueError as err:  # ragged nested lists
        raise ArgumentError(with_location(f"tensor: {err}")) from None
    if dtype is None and array.dtype == np.float64 and not _holds_float64(data):
        dtype = dtypes.default_float()  # Python floats become float32, as in torch
    return Tensor._wrap(array, dtype=dtype, requires_grad=requires_grad)


@factory
def full(shape: Sequence[int] | int, value: Scalar, dtype: Any = None) -> Tensor:
    """torch.full: `value` converted to `dtype` as torch does (integers wrap around)."""
    shape = _new_shape(shape, "full")
    if isinstance(value, Tensor):
        value = value.item()
    if not isinstance(value, bool | int | float | np.bool_ | np.integer | np.floating):
        raise ArgumentError(with_location(
            f"full: fill_value must be a number, not {type(value).__name__}"))
    dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.scalar_dtype(value)
    check_size(shape, dt, "full")
    return emit(hl.SplatOp, result_type=tensor_type(dt.ir_type, shape), value=_convert(value, dt))


def _convert(value: Scalar, dt: dtypes.DType) -> Scalar:
    """A Python number as a value of `dt`, the way torch converts a fill value."""
    if dt == dtypes.bool_:
        return bool(value)
    if dt.category == 1:
        return dtypes.wrap_int(int(value), dt)
    return float(value)


def _shape_arg(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, int | np.integer):
        return (int(shape),)
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = shape[0]
    try:
        return tuple(int(s.__index__()) for s in shape)
    except (AttributeError, TypeError):
        raise ArgumentError(with_location(
            f"expected a shape (a tuple of ints), got {shape!r:.60}")) from None


def _new_shape(shape: Any, op: str) -> tuple[int, ...]:
    """The shape of a new tensor: ints >= 0 (torch raises RuntimeError otherwise)."""
    out = _shape_arg(shape)
    if builtins.any(n < 0 for n in out):
        raise ShapeError(with_location(
            f"{op}: cannot create a tensor with a negative dimension: {list(out)}"))
    return out


def check_size(shape: tuple[int, ...], dt: dtypes.DType, op: str) -> None:
    """A new tensor of `shape` fits in memory (torch's allocator raises RuntimeError,
    numpy a MemoryError deep inside; lamina says the size and the limit first)."""
    nbytes = math.prod(shape) * dt.np_dtype.itemsize  # Python ints: no overflow
    limit = memory_limit()
    if nbytes > limit and graphs.probing():
        return
    if nbytes > limit:
        raise OutOfMemoryError(with_location(
            f"{op}: a tensor of shape {list(shape)} and dtype {dt.name} needs "
            f"{_bytes(nbytes)}, more than this machine's memory ({_bytes(limit)})"))


@functools.cache
def memory_limit() -> int:
    """Physical memory in bytes (the largest tensor lamina tries to allocate)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n} B"


def fresh(x: Tensor) -> Tensor:
    """A new tensor holding `x`'s value (an identity reshape that canonicalization
    removes): what an op returns where its result equals its input, so that, as in
    torch, `x.sum() is x` is False and the result has its own place in the graph."""
    return emit(hl.ReshapeOp, x, result_type=tensor_type(x.dtype.ir_type, x.shape))


# ---------------------------------------------------------------- broadcasting, promotion


def broadcast_shapes(*shapes: Sequence[int] | int, op: str = "broadcast_shapes"
                     ) -> tuple[int, ...]:
    """torch.broadcast_shapes: an int stands for a 1-D shape."""
    shapes = tuple(_shape_arg(s) for s in shapes)
    rank = builtins.max((len(s) for s in shapes), default=0)
    out = [1] * rank
    for s in shapes:
        for i, n in enumerate(s):
            j = rank - len(s) + i
            if n != out[j] and out[j] != 1 and n != 1:
                raise ShapeError(with_location(
                    f"{op}: shapes {' and '.join(str(list(x)) for x in shapes)} cannot be "
                    f"broadcast together (dim {j - rank}: {out[j]} vs {n})"))
            out[j] = n if out[j] == 1 else out[j]
    return tuple(out)


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """torch.broadcast_to (a new tensor even when the shape is x's)."""
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    shape = _shape_arg(shape)
    offset = len(shape) - x.ndim
    shape = tuple(x.shape[i - offset] if s == -1 and i >= offset else s
                  for i, s in enumerate(shape))
    if builtins.any(s < 0 for s in shape):  # torch: RuntimeError
        raise ShapeError(with_location(
            f"expand: cannot expand {list(x.shape)} to {list(_shape_arg(shape))} (a negative "
            "size; -1 keeps the size of an existing dim, and new leading dims have none)"))
    return _broadcast(x, shape) if x.ndim != len(shape) or x.shape != shape else fresh(x)


def _broadcast(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    """broadcast_to for the ops here: `x` itself when it has the shape already."""
    # (ranks first: a tuple == compares items before lengths, and a symbolic size
    # compared with a static one becomes a guard, lamina.frontend.sizes)
    if x.ndim == len(shape) and x.shape == shape:
        return x
    if len(shape) < x.ndim:
        raise ShapeError(with_location(f"expand: cannot expand {list(x.shape)} to {list(shape)}"))
    dims = tuple(range(len(shape) - x.ndim, len(shape)))
    for i, d in enumerate(dims):
        if x.shape[i] not in (1, shape[d]):
            raise ShapeError(with_location(
                f"expand: cannot expand {list(x.shape)} to {list(shape)}"))
    return emit(hl.BroadcastInDimOp, x, result_type=tensor_type(x.dtype.ir_type, shape),
                dims=dims)


def result_dtype(*xs: TensorLike) -> dtypes.DType:
    """torch.result_type of the operands: tensors with dims, then 0-d tensors, then
    Python numbers (weak: they only decide the category); see `lamina.dtypes`."""
    dims: list[dtypes.DType] = []
    zero_dim: list[dtypes.DType] = []
    scalars: list[Scalar] = []
    for x in xs:
        if isinstance(x, Tensor):
            (dims if x.ndim else zero_dim).append(x.dtype)
        elif np.ndim(x) == 0:
            scalars.append(_scalar(x))
        else:
            dims.append(_as_operand(x).dtype)
    return dtypes.result_type(dims, zero_dim, scalars)


def _as_operand(x: Any) -> Tensor:
    """An array-like operand as a tensor (lists as `lm.tensor` makes them)."""
    return x if isinstance(x, Tensor) else (Tensor._wrap(x) if isinstance(x, np.ndarray) else tensor(x))


def _operands(op: str, *xs: TensorLike, dtype: dtypes.DType | None = None) -> list[Tensor]:
    """Promote and broadcast a mix of tensors, arrays and scalars to one type."""
    for x in xs:
        if not isinstance(x, Tensor | bool | int | float | np.ndarray | np.generic | list | tuple):
            raise DTypeError(with_location(
                f"{op}: operands must be tensors, arrays or numbers, got "
                f"{' and '.join(_describe(x) for x in xs)}"))
    xs = tuple(x if isinstance(x, Tensor) or np.ndim(x) == 0 else _as_operand(x) for x in xs)
    dt = dtype or result_dtype(*xs)
    shape = broadcast_shapes(*(x.shape for x in xs if isinstance(x, Tensor)), op=op)
    out = []
    for x in xs:
        if isinstance(x, Tensor):
            x = x.to(dt) if x.dtype != dt else x
            out.append(_broadcast(x, shape))
        else:
            out.append(full(shape, _scalar(x), dtype=dt))
    return out


def _describe(x: Any) -> str:
    if isinstance(x, Tensor):
        return f"a tensor of shape {list(x.shape)} and dtype {x.dtype.name}"
    return f"{type(x).__name__} {x!r:.40}"


def _scalar(x: Any) -> Scalar:
    return np.asarray(x).item()


def _binary(op_cls: type[HlOp], a: TensorLike, b: TensorLike, dtype=None) -> Tensor:
    x, y = _operands(op_cls.name.removeprefix("hl."), a, b, dtype=dtype)
    return emit(op_cls, x, y)


def _float_operand(x: TensorLike) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    return x if x.dtype.is_floating_point else x.to(dtypes.default_float())


# ---------------------------------------------------------------- elementwise


@method
def add(a, b, *, alpha: Scalar = 1):
    return _binary(hl.AddOp, a, b if alpha == 1 else mul(b, alpha))


@method
def sub(a, b, *, alpha: Scalar = 1):
    if builtins.any(isinstance(v, bool | np.bool_) or isinstance(v, Tensor) and v.dtype ==
                    dtypes.bool_ for v in (a, b)):
        raise DTypeError(with_location(
            "sub: subtraction with a bool tensor is not supported (to invert a mask, use ~ "
            "or logical_not; for two masks, ^ or logical_xor)"))
    return _binary(hl.SubOp, a, b if alpha == 1 else mul(b, alpha))


@method
def mul(a, b):
    return _binary(hl.MulOp, a, b)


@method
def div(a, b, rounding_mode: str | None = None):
    """True division (integers become floats), or floor/trunc division as torch.div."""
    if rounding_mode is None:
        dt = result_dtype(a, b)
        if not dt.is_floating_point:
            dt = dtypes.default_float()
        return _binary(hl.DivOp, a, b, dtype=dt)
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        dt = result_dtype(a, b)
        _no_bool_result(dt, "div(rounding_mode='trunc')")
        if not dt.is_floating_point:  # exact: through floats, big quotients were rounded
            q = floor_divide(a, b)
            up = (remainder(a, b) != 0) & ((a < 0) != (b < 0))
            return (q + up.to(dt)).to(dt)
        q = div(a, b)
        return where(q < 0, ceil(q), floor(q))
    raise ArgumentError(with_location(
        f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}"))


true_divide = divide = div


@method
def floor_divide(a, b):
    dt = result_dtype(a, b)
    _no_bool_result(dt, "floor_divide")
    if dt.is_floating_point:
        return _floor_divide_float(*(x.to(dt) if isinstance(x, Tensor)
                                     else Tensor._wrap(np.asarray(x, dt.np_dtype), dtype=dt)
                                     for x in (a, b)))
    return _binary(hl.DivOp, a, b)


def _floor_divide_float(a: Tensor, b: Tensor) -> Tensor:
    """torch's div_floor, step for step: from fmod(a, b) (exact: fmod is odd in a, and
    remainder is fmod where a has b's sign), the quotient (a - fmod) / b, one less where
    fmod has the other sign than b, rounded to nearest (floor(a / b) is 10 for 1 // 0.1,
    torch 9); a signed 0 where it is 0, a / b where b == 0. The final floor makes the
    gradient 0, as torch's."""
    mod = where((a < 0) != (b < 0), -remainder(-a, b), remainder(a, b))
    div = (a - mod) / b
    div = div - ((mod != 0) & ((b < 0) != (mod < 0))).to(div.dtype)
    low = floor(div)
    rounded = low + ((div - low) > 0.5).to(div.dtype)
    out = where(b == 0, a / b, where(div == 0, (a / b) * 0.0, rounded))
    return floor(out)


@method
def remainder(a, b):
    _no_bool_result(result_dtype(a, b), "remainder")
    return _binary(hl.RemOp, a, b)


def _no_bool_result(dt: dtypes.DType, op: str) -> None:
    """torch has no bool kernel of `op` (bool op bool: NotImplementedError there)."""
    if dt == dtypes.bool_:
        raise like(DTypeError, NotImplementedError)(with_location(
            f"{op}: not implemented for bool tensors (both operands are bool)"))


@method
def pow(a, b):
    """a ** b with torch's promotion (an int tensor ** 2.0 is float32). The gradient
    follows torch at the edges: 0 where b == 0, 0 for b where a == 0 and b >= 0."""
    dt = result_dtype(a, b)
    _no_bool_result(dt, "pow")
    if (isinstance(b, int | np.integer) and not isinstance(b, bool) and b < 0
            and dt.category == 1):
        raise DTypeError(with_location(
            f"pow: integers to negative integer powers are not allowed ({_describe(a)} "
            f"** {b}); use a float tensor"))
    if isinstance(b, int | float) and not isinstance(b, bool) and isinstance(a, Tensor):
        a = a.to(dt) if a.dtype != dt else a
        if b == 2:  # exact, and d/da = 2a as torch's (also at a = 0)
            return mul(a, a)
        if b == 1:
            return fresh(a)
    return _binary(hl.PowOp, a, b)


@method
def maximum(a, b):
    return _binary(hl.MaxOp, a, b)


@method
def minimum(a, b):
    return _binary(hl.MinOp, a, b)


@method
def eq(a, b):
    return _binary(hl.EqOp, a, b)


@method
def ne(a, b):
    return _binary(hl.NeOp, a, b)


@method
def lt(a, b):
    return _binary(hl.LtOp, a, b)


@method
def le(a, b):
    return _binary(hl.LeOp, a, b)


@method
def gt(a, b):
    return _binary(hl.GtOp, a, b)


@method
def ge(a, b):
    return _binary(hl.GeOp, a, b)


@method
def logical_and(a, b):
    return _binary(hl.AndOp, a, b, dtype=dtypes.bool_)


@method
def logical_or(a, b):
    return _binary(hl.OrOp, a, b, dtype=dtypes.bool_)


@method
def logical_xor(a, b):
    return _binary(hl.XorOp, a, b, dtype=dtypes.bool_)


@method
def logical_not(a):
    a = a if isinstance(a, Tensor) else Tensor._wrap(a)
    return emit(hl.NotOp, a.to(dtypes.bool_) if a.dtype != dtypes.bool_ else a)


def _bitwise(op_cls: type[HlOp], a: TensorLike, b: TensorLike) -> Tensor:
    """Bitwise ops are defined on integer and bool tensors only (as in torch)."""
    dt = result_dtype(a, b)
    if dt.is_floating_point:  # torch: NotImplementedError ("not implemented for 'Float'")
        name = op_cls.name.removeprefix("hl.")
        raise like(DTypeError, NotImplementedError)(with_location(
            f"bitwise_{name}: needs integer or bool tensors, got "
            f"{' and '.join(_describe(x) for x in (a, b))}"))
    return _binary(op_cls, a, b)


def bitwise_and(a, b):
    return _bitwise(hl.AndOp, a, b)


def bitwise_or(a, b):
    return _bitwise(hl.OrOp, a, b)


def bitwise_xor(a, b):
    return _bitwise(hl.XorOp, a, b)


def where(cond, a=_UNSET, b=_UNSET):
    """cond ? a : b with broadcasting and promotion of a and b; `where(cond)` alone is
    nonzero(cond, as_tuple=True) (data-dependent: eager only)."""
    if a is _UNSET and b is _UNSET:
        from lamina.frontend.selection import where_one

        return where_one(cond)
    cond = cond if isinstance(cond, Tensor) else Tensor._wrap(np.asarray(cond, dtype=bool))
    if cond.dtype not in (dtypes.bool_, dtypes.uint8):
        raise DTypeError(with_location(
            f"where: the condition must be a bool tensor, got dtype {cond.dtype.name}"))
    if cond.dtype != dtypes.bool_:  # uint8: torch's deprecated mask dtype
        cond = cond.to(dtypes.bool_)
    dt = result_dtype(a, b)
    shapes = [cond.shape] + [x.shape for x in (a, b) if isinstance(x, Tensor)]
    shape = broadcast_shapes(*shapes, op="where")
    x, y = (_broadcast(x.to(dt), shape) if isinstance(x, Tensor) else full(shape, _scalar(x), dt)
            for x in (a, b))
    return emit(hl.SelectOp, _broadcast(cond, shape), x, y)


def _unary(op_cls: type[HlOp], x: TensorLike, floating: bool = True) -> Tensor:
    x = _float_operand(x) if floating else (x if isinstance(x, Tensor) else Tensor._wrap(x))
    return emit(op_cls, x)


@method
def neg(x):
    if isinstance(x, Tensor) and x.dtype == dtypes.bool_:
        raise DTypeError(with_location("neg: negation of a bool tensor is not supported"))
    return _unary(hl.NegOp, x, floating=False)


def _no_bool(x: Any, op: str) -> Tensor:
    """torch has no kernel of `op` for bool tensors (a NotImplementedError there)."""
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    if x.dtype == dtypes.bool_:
        raise like(DTypeError, NotImplementedError)(with_location(
            f"{op}: not implemented for bool tensors"))
    return x


@method
def abs(x):
    return _unary(hl.AbsOp, _no_bool(x, "abs"), floating=False)


@method
def sign(x):
    return _unary(hl.SignOp, x, floating=False)


@method
def exp(x):
    return _unary(hl.ExpOp, x)


@method
def log(x):
    return _unary(hl.LogOp, x)


@method
def sqrt(x):
    return _unary(hl.SqrtOp, x)


@method
def rsqrt(x):
    return _unary(hl.RsqrtOp, x)


@method
def tanh(x):
    return _unary(hl.TanhOp, x)


@method
def sigmoid(x):
    return _unary(hl.SigmoidOp, x)


@method
def erf(x):
    return _unary(hl.ErfOp, x)


@method
def sin(x):
    return _unary(hl.SinOp, x)


@method
def cos(x):
    return _unary(hl.CosOp, x)


@method
def floor(x):
    x = _no_bool(x, "floor")
    return fresh(x) if not x.dtype.is_floating_point else emit(hl.FloorOp, x)


@method
def ceil(x):
    x = _no_bool(x, "ceil")
    return fresh(x) if not x.dtype.is_floating_point else emit(hl.CeilOp, x)


@method
def round(x, *, decimals: int = 0):
    """Half to even; with `decimals`, of x * 10^decimals (torch's: x / 10^-decimals for
    negative decimals), scaled back."""
    x = _no_bool(x, "round")
    if not x.dtype.is_floating_point:
        if decimals:  # torch: "round_cpu" with decimals is not implemented for integers
            raise like(DTypeError, NotImplementedError)(with_location(
                f"round: decimals= needs a floating-point tensor, got {x.dtype.name}"))
        return fresh(x)
    if decimals == 0:
        return emit(hl.RoundOp, x)
    scale = float(10.0 ** builtins.abs(decimals))
    if decimals > 0:
        return div(emit(hl.RoundOp, mul(x, scale)), scale)
    return mul(emit(hl.RoundOp, div(x, scale)), scale)


def stop_gradient(x):
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    return emit(hl.StopGradientOp, x)


@method
def square(x):
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    return mul(x, x) if x.dtype != dtypes.bool_ else square(x.to(dtypes.int64))  # torch: int64


@method
def reciprocal(x):
    return div(1.0, _float_operand(x))


@method
def exp2(x):
    return exp(mul(_float_operand(x), float(np.log(2.0))))


@method
def expm1(x):
    # e^x - 1 = tanh(x/2) (e^x + 1): no cancellation near 0 (exp(x) - 1 loses every digit).
    # Above 20 the plain form is exact, and keeps the gradient at +inf inf (tanh' · e^x
    # would be 0 · inf); the other branch then sees 0, so its gradient stays finite.
    x = _float_operand(x)
    big = gt(x, 20.0)
    small = where(big, zeros((), dtype=x.dtype), x)
    return where(big, sub(exp(x), 1.0), mul(tanh(mul(small, 0.5)), add(exp(small), 1.0)))


@method
def log1p(x):
    # Goldberg's trick: with u = fl(1 + x), log(u) * x / (u - 1) is accurate near 0
    x = _float_operand(x)
    u = add(x, 1.0)
    exact = eq(u, 1.0)
    safe = where(exact, ones_like(u), sub(u, 1.0))
    ratio = where(eq(u, float("inf")), ones_like(u), div(x, safe))  # inf/inf would be nan
    value = stop_gradient(where(exact, x, mul(log(u), ratio)))
    # the gradient is torch's 1/(1 + x), also where the value is NaN (x < -1): x * c with
    # c = 1/u held constant adds 0 to the value and c to the gradient
    lin = mul(x, stop_gradient(div(1.0, u)))
    straight = add(value, sub(lin, stop_gradient(lin)))
    finite = eq(sub(lin, lin), 0.0)
    return where(eq(u, 0.0), lin, where(finite, straight, value))  # x = -1: -inf, grad inf


@method
def log2(x):
    return div(log(x), float(np.log(2.0)))


@method
def log10(x):
    return div(log(x), float(np.log(10.0)))


@method
def atan(x):
    return _unary(hl.AtanOp, x)


@method
def atan2(a, b):
    """torch.atan2(a, b): the angle of (b, a); integers become floats."""
    dt = result_dtype(a, b)
    return _binary(hl.Atan2Op, a, b, dtype=dt if dt.is_floating_point else dtypes.default_float())


@method
def asin(x):
    return _unary(hl.AsinOp, x)


@method
def acos(x):
    return _unary(hl.AcosOp, x)


@method
def sinh(x):
    return _unary(hl.SinhOp, x)


@method
def cosh(x):
    return _unary(hl.CoshOp, x)


@method
def asinh(x):
    return _unary(hl.AsinhOp, x)


@method
def acosh(x):
    return _unary(hl.AcoshOp, x)


@method
def atanh(x):
    return _unary(hl.AtanhOp, x)


arcsin, arccos, arcsinh, arccosh, arctanh = asin, acos, asinh, acosh, atanh


@method
def trunc(x):
    x = _no_bool(x, "trunc")
    return fresh(x) if not x.dtype.is_floating_point else emit(hl.TruncOp, x)


fix = METHODS["fix"] = trunc


@method
def fmod(a, b):
    """C's fmod: the remainder with the sign of the dividend. An integer division by
    zero raises (torch's ZeroDivisionError, a RuntimeError) when the divisor is known."""
    dt = result_dtype(a, b)
    _no_bool_result(dt, "fmod")
    if not dt.is_floating_point and _has_zero(b):
        raise like(ArgumentError, RuntimeError)(with_location(
            "fmod: integer division by zero (ZeroDivisionError)"))
    return _binary(hl.FmodOp, a, b)


def _has_zero(b: Any) -> bool:
    """b is a known zero somewhere (a number, or a concrete tensor)."""
    if not isinstance(b, Tensor):
        return bool(np.any(np.asarray(b) == 0))
    return not b.is_traced and bool(np.any(b.numpy() == 0))


@method
def copysign(a, b):
    dt = result_dtype(a, b)
    return _binary(hl.CopysignOp, a, b,
                   dtype=dt if dt.is_floating_point else dtypes.default_float())


def _shift(op_cls: type[HlOp], a: TensorLike, b: TensorLike, name: str) -> Tensor:
    dt = result_dtype(a, b)
    if dt.is_floating_point or dt == dtypes.bool_:
        raise like(DTypeError, NotImplementedError)(with_location(
            f"{name}: needs integer tensors, got "
            f"{' and '.join(_describe(x) for x in (a, b))}"))
    return _binary(op_cls, a, b)


@method
def bitwise_left_shift(a, b):
    return _shift(hl.ShlOp, a, b, "bitwise_left_shift")


@method
def bitwise_right_shift(a, b):
    return _shift(hl.ShrOp, a, b, "bitwise_right_shift")


@method
def bitwise_not(x):
    """~x: logical not of bools, -x - 1 of integers; floats are an error."""
    x = x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))
    if x.dtype == dtypes.bool_:
        return logical_not(x)
    if x.dtype.is_floating_point:
        raise like(DTypeError, NotImplementedError)(with_location(
            f"bitwise_not: needs an integer or bool tensor, got {_describe(x)}"))
    return bitwise_xor(x, -1)


@method
def tan(x):
    return div(sin(x), cos(x))


@method
def relu(x):
    # torch's values: NaN stays NaN, -0.0 stays -0.0 (only x < 0 becomes 0); torch's
    # gradient: 0 at exactly 0 (where, not maximum, which splits ties), 1 at NaN
    x = _no_bool(x, "relu")
    zero = full(x.shape, 0, dtype=x.dtype)  # one splat, not three (6 eager ops, not 9)
    return where(lt(x, zero), zero, where(eq(x, zero), stop_gradient(x), x))


@method
def clamp(x, min=None, max=None):
    """torch.clamp: min(max(x, min), max); a NaN in x or in a bound gives NaN. The
    gradient reaches x where min <= x <= max (on a bound too, as torch's), and a tensor
    bound where the result is that bound."""
    if min is None and max is None:
        raise ArgumentError(with_location("clamp: at least one of min and max must be given"))
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    dt = result_dtype(x, *(v for v in (min, max) if v is not None))
    x = x.to(dt) if x.dtype != dt else x
    lo = None if min is None else _bound(min, dt)
    hi = None if max is None else _bound(max, dt)
    out = x if lo is None else where(_past(lt(x, lo), lo), lo, x)
    if hi is not None:
        out = where(_past(gt(out, hi), hi), hi, out)
    # torch's rule sends no gradient at all from a NaN x, nor from x below min == max
    stopped = ne(x, x) if dt.is_floating_point else None
    if isinstance(lo, Tensor) and isinstance(hi, Tensor):
        tie = logical_and(eq(lo, hi), lt(x, lo))
        stopped = tie if stopped is None else logical_or(stopped, tie)
    return out if stopped is None else where(stopped, stop_gradient(out), out)


def _past(cond: Tensor, bound: Tensor | Scalar) -> Tensor:
    """`cond`, or where the bound is NaN (torch's clamp propagates it)."""
    if isinstance(bound, Tensor):
        return logical_or(cond, ne(bound, bound)) if bound.dtype.is_floating_point else cond
    return full_like(cond, True) if bound != bound else cond


def _bound(v: Any, dt: dtypes.DType) -> Tensor | Scalar:
    if isinstance(v, Tensor):
        return v.to(dt) if v.dtype != dt else v
    if np.ndim(v):
        return Tensor._wrap(np.asarray(v)).to(dt)
    return _convert(_scalar(v), dt)


clip = METHODS["clip"] = clamp


def to_dtype(x: Tensor, dtype: Any) -> Tensor:
    dt = dtypes.as_dtype(dtype)
    if x.dtype == dt:
        return x
    return emit(hl.CastOp, x, result_type=tensor_type(dt.ir_type, x.shape))


# ---------------------------------------------------------------- reductions


def _dims(x: Tensor, dim: int | Sequence[int] | None, op: str, empty_is_all: bool = True
          ) -> tuple[int, ...]:
    """The dims a reduction names, sorted. None means every dim, and so does an empty
    list, as in torch (except for all/any, where it means none: `empty_is_all`)."""
    if dim is None:
        return tuple(range(x.ndim))
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer | Sequence):
        raise ArgumentError(with_location(
            f"{op}: dim must be an int or a sequence of ints, got {type(dim).__name__}"))
    dims = (dim,) if isinstance(dim, int | np.integer) else tuple(dim)
    if not dims:
        return tuple(range(x.ndim)) if empty_is_all else ()
    out = [_dim(x, d, op) for d in dims]
    if len(set(out)) < len(out):
        raise ArgumentError(with_location(
            f"{op}: dim {builtins.max(out, key=out.count)} appears more than once in {list(dims)}"))
    return tuple(sorted(out)) if x.ndim else ()


def _dim(x: Tensor, d: Any, op: str) -> int:
    """One dim of `x`, negative counting from the end (a 0-d tensor has dims 0 and -1)."""
    if isinstance(d, bool) or not isinstance(d, int | np.integer):
        raise ArgumentError(with_location(f"{op}: dim must be an int, got {d!r:.40}"))
    rank = builtins.max(x.ndim, 1)
    if not -rank <= d < rank:
        raise DimError(with_location(
            f"{op}: dim {d} is out of range for a tensor of shape {list(x.shape)} "
            f"(rank {x.ndim}: expected a dim in [{-rank}, {rank - 1}])"))
    return int(d) % rank


def _keep(out: Tensor, x: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
    if not keepdim:
        return out
    return out.reshape(tuple(1 if i in dims else n for i, n in enumerate(x.shape)))


def _reduce(op_cls, x: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
    out = emit(op_cls, x, dims=dims) if dims else fresh(x)
    return _keep(out, x, dims, keepdim)


@method
@numpy_compat
def sum(x, dim=None, keepdim: bool = False, dtype: Any = None):
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    if dtype is not None:
        x = x.to(dtype)
    elif not x.dtype.is_floating_point:
        x = x.to(dtypes.int64)  # torch sums bool/int tensors in int64
    return _reduce(hl.ReduceSumOp, x, _dims(x, dim, "sum"), keepdim)


@method
@numpy_compat
def prod(x, dim=None, keepdim: bool = False, dtype: Any = None):
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    if dtype is not None:
        x = x.to(dtype)
    elif not x.dtype.is_floating_point:
        x = x.to(dtypes.int64)
    return _reduce(hl.ReduceProdOp, x, _dims(x, dim, "prod"), keepdim)


@method
@numpy_compat
def mean(x, dim=None, keepdim: bool = False, dtype: Any = None):
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    if not (dtype is not None or x.dtype.is_floating_point):
        raise DTypeError(with_location(
            f"mean: needs a floating-point tensor, got {x.dtype.name} (pass dtype=)"))
    if dtype is not None and not dtypes.as_dtype(dtype).is_floating_point:
        raise DTypeError(with_location(
            f"mean: dtype must be a floating-point dtype, got {dtypes.as_dtype(dtype).name}"))
    dims = _dims(x, dim, "mean")
    if not dims:
        return _keep(fresh(x) if dtype is None else to_dtype(x, dtype), x, dims, keepdim)
    count = int(np.prod([x.shape[d] for d in dims]))
    return div(sum(x, dim=dims, keepdim=keepdim, dtype=dtype), count)


@method
@numpy_compat
def var(x, dim=None, unbiased: bool = True, keepdim: bool = False, *, correction=None):
    """torch.var: `var(x, unbiased)`, `var(x, dim, unbiased, keepdim)` or
    `var(x, dim, correction=, keepdim=)`; the divisor is max(0, N - correction)."""
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    if isinstance(dim, bool):  # torch's var(input, unbiased) overload
        dim, unbiased = None, dim
    if not x.dtype.is_floating_point:
        raise DTypeError(with_location(
            f"var/std: need a floating-point tensor, got {x.dtype.name}"))
    dims = _dims(x, dim, "var")
    n = int(np.prod([x.shape[d] for d in dims]))
    corr = (1 if unbiased else 0) if correction is None else correction
    centered = sub(x, mean(x, dim=dims, keepdim=True))
    total = sum(mul(centered, centered), dim=dims, keepdim=keepdim)
    if n <= 1 and n - corr <= 0:  # torch divides an exact 0 (x - mean) by 0: NaN, whatever
        return mul(total, float("nan"))  # a backend's rounding of the numerator (fma) gives
    return div(total, builtins.max(n - corr, 0))  # torch's divisor: inf past the sample size


@method
@numpy_compat
def std(x, dim=None, unbiased: bool = True, keepdim: bool = False, *, correction=None):
    """torch.std: the square root of `var` (same overloads); as torch's, the gradient is
    0 where the variance is 0 (not inf * 0)."""
    v = var(x, dim, unbiased, keepdim, correction=correction)
    zero = eq(v, 0.0)
    return where(zero, zeros_like(v), sqrt(where(zero, ones_like(v), v)))


@method
@numpy_compat
def amax(x, dim=None, keepdim: bool = False):
    return _reduce(hl.ReduceMaxOp, x, _extremum_dims(x, dim, "amax"), keepdim)


@method
@numpy_compat
def amin(x, dim=None, keepdim: bool = False):
    return _reduce(hl.ReduceMinOp, x, _extremum_dims(x, dim, "amin"), keepdim)


def _extremum_dims(x: Any, dim: Any, op: str) -> tuple[int, ...]:
    """The dims of a max/min; none of them may be empty (there is no extremum of nothing)."""
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    dims = _dims(x, dim, op)
    for d in dims:
        if x.shape[d] == 0:
            kind = ShapeError if dim is None else DimError  # torch: RuntimeError / IndexError
            raise kind(with_location(
                f"{op}: cannot reduce the empty dim {d} of shape {list(x.shape)} (there is "
                "no extremum of no elements)"))
    return dims


def _arg(op_cls, x: Tensor, dim, keepdim: bool, name: str) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    if dim is None:
        if x.numel() == 0:
            raise DimError(with_location(
                f"{name}: cannot take {name} of an empty tensor (shape {list(x.shape)}) "
                "without a dim"))
        flat = _reshape(x, (x.numel(),))
        out = emit(op_cls, flat, dim=0)
        return out.reshape((1,) * x.ndim) if keepdim else out
    d = _dim(x, dim, name)
    if x.ndim == 0:
        return full((), 0, dtype=dtypes.int64)
    if x.shape[d] == 0:
        raise DimError(with_location(
            f"{name}: dim {d} of shape {list(x.shape)} is empty (no element to pick)"))
    return _keep(emit(op_cls, x, dim=d), x, (d,), keepdim)


@method
@numpy_compat
def argmax(x, dim=None, keepdim: bool = False):
    return _arg(hl.ArgMaxOp, _no_bool(x, "argmax"), dim, keepdim, "argmax")


@method
@numpy_compat
def argmin(x, dim=None, keepdim: bool = False):
    return _arg(hl.ArgMinOp, _no_bool(x, "argmin"), dim, keepdim, "argmin")


class _ValuesIndices(tuple):
    """(values, indices), as torch.max(x, dim) returns."""

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


@method
@numpy_compat
def max(x, dim=None, keepdim: bool = False):
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    if dim is None:
        return amax(x)
    _dim(x if isinstance(x, Tensor) else Tensor._wrap(x), dim, "max")
    return _picked(x, argmax(_bool_as_uint8(x), dim, keepdim=True), dim, keepdim)


@method
@numpy_compat
def min(x, dim=None, keepdim: bool = False):
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    if dim is None:
        return amin(x)
    _dim(x if isinstance(x, Tensor) else Tensor._wrap(x), dim, "min")
    return _picked(x, argmin(_bool_as_uint8(x), dim, keepdim=True), dim, keepdim)


def _picked(x: Any, index: Tensor, dim: int, keepdim: bool) -> _ValuesIndices:
    """max/min along dim as torch: the values are the elements at the indices (a tie or a
    NaN sends the whole gradient to the one index picked, where amax would share it)."""
    from lamina.frontend.movement import gather

    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    values = gather(x, dim, index) if x.ndim else fresh(x)
    if keepdim or x.ndim == 0:
        return _ValuesIndices((values, index))
    d = _dim(x, dim, "max")
    return _ValuesIndices((squeeze(values, d), squeeze(index, d)))


def _bool_as_uint8(x: Any) -> Any:
    """max/min with a dim take bool tensors (argmax/argmin alone do not, as in torch)."""
    return x.to(dtypes.uint8) if isinstance(x, Tensor) and x.dtype == dtypes.bool_ else x


@method
@numpy_compat
def all(x, dim=None, keepdim: bool = False):
    """Whether every element is nonzero (NaN counts as nonzero): bool, or uint8 for
    uint8 input, as torch. `dim=()` reduces nothing."""
    return _logical_reduce(x, dim, keepdim, "all")


@method
@numpy_compat
def any(x, dim=None, keepdim: bool = False):
    """Whether some element is nonzero: bool, or uint8 for uint8 input, as torch."""
    return _logical_reduce(x, dim, keepdim, "any")


def _logical_reduce(x: Any, dim: Any, keepdim: bool, op: str) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor._wrap(x)
    truth = fresh(x) if x.dtype == dtypes.bool_ else ne(x, 0)
    dims = _dims(x, dim, op, empty_is_all=False)
    if not dims:
        out = truth
    elif builtins.any(x.shape[d] == 0 for d in dims):  # every/some of nothing
        out = full(tuple(n for i, n in enumerate(x.shape) if i not in dims), op == "all")
    else:
        out = emit(hl.ReduceMinOp if op == "all" else hl.ReduceMaxOp, truth, dims=dims)
    out = _keep(out, x, dims, keepdim)
    return out.to(dtypes.uint8) if x.dtype == dtypes.uint8 else out


@method
@numpy_compat
def logsumexp(x, dim, keepdim: bool = False):
    x = _float_operand(x)
    dims = _dims(x, dim, "logsumexp")
    if builtins.any(x.shape[d] == 0 for d in dims):  # log(0): -inf
        return _keep(full(tuple(n for i, n in enumerate(x.shape) if i not in dims),
                          float("-inf"), x.dtype), x, dims, keepdim)
    m = stop_gradient(amax(x, dims, keepdim=True))
    m = where(eq(abs(m), float("inf")), zeros_like(m), m)
    out = add(log(sum(exp(sub(x, m)), dims, keepdim=True)), m)
    return out if keepdim else out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in dims))


# ---------------------------------------------------------------- shapes


@method
def reshape(x: Tensor, *shape) -> Tensor:
    """torch.reshape (one dim may be -1); a new tensor even when the shape is x's."""
    return fresh(x) if (out := _reshape(x, _shape_arg(shape) if shape else ())) is x else out


def _reshape(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    """reshape for the ops here: `x` itself when the shape is x's."""
    shape = list(shape)
    n = x.numel()
    if shape.count(-1) > 1:
        raise ShapeError(with_location(f"reshape: only one dim may be -1, got {shape}"))
    if builtins.any(s < -1 for s in shape):
        raise ShapeError(with_location(f"reshape: invalid size {builtins.min(shape)} in {shape}"))
    if -1 in shape:
        known = int(np.prod([s for s in shape if s != -1]))
        if known == 0 or n % known:
            raise ShapeError(with_location(
                f"reshape: cannot reshape a tensor of shape {list(x.shape)} ({n} elements) "
                f"into {shape}"))
        shape[shape.index(-1)] = n // known
    shape = tuple(shape)
    if shape == x.shape:
        return x
    if int(np.prod(shape)) != n:
        raise ShapeError(with_location(
            f"reshape: cannot reshape a tensor of shape {list(x.shape)} ({n} elements) into "
            f"{list(shape)} ({int(np.prod(shape))} elements)"))
    return emit(hl.ReshapeOp, x, result_type=tensor_type(x.dtype.ir_type, shape))


@method
def permute(x: Tensor, *dims) -> Tensor:
    """torch.permute (a new tensor even for the identity permutation)."""
    dims = _shape_arg(dims)
    if len(dims) != x.ndim:
        raise ShapeError(with_location(
            f"permute: {len(dims)} dims given for a tensor of rank {x.ndim} "
            f"(shape {list(x.shape)})"))
    perm = tuple(_dim(x, d, "permute") for d in dims) if x.ndim else ()
    if sorted(perm) != list(range(x.ndim)):
        raise ShapeError(with_location(f"permute: {list(dims)} is not a permutation (a dim "
                                        "repeats)"))
    if perm == tuple(range(x.ndim)):
        return fresh(x)
    return emit(hl.TransposeOp, x, perm=perm)


@method
def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    d0, d1 = _dim(x, dim0, "transpose"), _dim(x, dim1, "transpose")
    perm = list(range(x.ndim))
    if x.ndim:
        perm[d0], perm[d1] = perm[d1], perm[d0]
    return permute(x, *perm)


@method
def t(x: Tensor) -> Tensor:
    """The transpose of a matrix; 0-d and 1-D tensors come back as new tensors."""
    if x.ndim > 2:
        raise ShapeError(with_location(
            f"t: expects a tensor of at most 2 dims, got shape {list(x.shape)} (use "
            "transpose or mT)"))
    return fresh(x) if x.ndim < 2 else transpose(x, 0, 1)


@method
def unsqueeze(x: Tensor, dim: int) -> Tensor:
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer):
        raise ArgumentError(with_location(f"unsqueeze: dim must be an int, got {dim!r:.40}"))
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise DimError(with_location(
            f"unsqueeze: dim {dim} is out of range for a tensor of rank {x.ndim} (expected "
            f"a dim in [{-x.ndim - 1}, {x.ndim}])"))
    dim = dim % (x.ndim + 1)
    return _reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


@method
def squeeze(x: Tensor, dim=None) -> Tensor:
    if isinstance(dim, tuple | list) and not dim:
        return fresh(x)  # squeeze(x, ()) squeezes nothing (for reductions () means all)
    dims = _dims(x, dim, "squeeze") if dim is not None else tuple(range(x.ndim))
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1)))


@method
def expand(x: Tensor, *sizes) -> Tensor:
    return broadcast_to(x, _shape_arg(sizes))


@method
def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """torch.flatten: as torch, `x` itself when no dims are merged (a 1-D tensor)."""
    if x.ndim == 0:
        return _reshape(x, (1,))
    s, e = _dim(x, start_dim, "flatten"), _dim(x, end_dim, "flatten")
    if s > e:
        raise ShapeError(with_location(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape "
            f"{list(x.shape)})"))
    if s == e:
        return x
    return _reshape(x, x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:])


# ---------------------------------------------------------------- creation


@factory
def zeros(*shape, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _concrete_full(shape, 0, dtype, requires_grad, "zeros")


@factory
def ones(*shape, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _concrete_full(shape, 1, dtype, requires_grad, "ones")


@factory
def empty(*shape, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _concrete_full(shape, 0, dtype, requires_grad, "empty")


def _concrete_full(shape, value, dtype, requires_grad, op: str) -> Tensor:
    dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float()
    shape = _new_shape(shape, op)
    check_size(shape, dt, op)
    return Tensor._wrap(np.full(shape, value, dtype=dt.np_dtype),
                        requires_grad=requires_grad)


@factory
def zeros_like(x: Tensor, dtype: Any = None) -> Tensor:
    return full(x.shape, 0, dtype=dtype or x.dtype)


@factory
def ones_like(x: Tensor, dtype: Any = None) -> Tensor:
    return full(x.shape, 1, dtype=dtype or x.dtype)


@factory
def full_like(x: Tensor, value: Scalar, dtype: Any = None) -> Tensor:
    return full(x.shape, value, dtype=dtype or x.dtype)


def _number(v: Any, op: str, name: str) -> Scalar:
    v = v.item() if isinstance(v, Tensor) else v
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
        raise ArgumentError(with_location(f"{op}: {name} must be a number, got {v!r:.40}"))
    return v.item() if isinstance(v, np.generic) else v


def _accumulator(dt: dtypes.DType) -> dtypes.DType:
    """The type torch's CPU range kernels compute in (`at::acc_type`)."""
    if dt.category < 2:
        return dtypes.int64
    return dtypes.float32 if dt.bits == 16 else dtypes.float64


@factory
def arange(start, end=None, step=1, *, dtype: Any = None) -> Tensor:
    """torch.arange, with its rules: the length is ceil((end - start) / step), the values
    start + i * step computed in the accumulator type (int64 for integer dtypes, with a
    float start/step truncated first; double for float32/64) and then converted."""
    if end is None:
        start, end = 0, start
    start, end, step = (_number(v, "arange", n) for v, n in
                        ((start, "start"), (end, "end"), (step, "step")))
    is_float = builtins.any(isinstance(v, float) for v in (start, end, step))
    dt = dtypes.as_dtype(dtype) if dtype is not None else (
        dtypes.default_float() if is_float else dtypes.int64)
    if step == 0:
        raise ArgumentError(with_location(f"arange: step must be nonzero (got step={step})"))
    if not (np.isfinite(start) and np.isfinite(end)):
        raise ArgumentError(with_location(f"arange: unsupported range {start} -> {end}"))
    if not ((step > 0 and end >= start) or (step < 0 and end <= start)):
        raise ArgumentError(with_location(
            f"arange: the range {start} -> {end} goes against the sign of step {step}"))
    acc = _accumulator(dt)
    convert = int if acc.category == 1 else float
    xstart, xend, xstep = (convert(v) for v in (start, end, step))
    if dt == dtypes.int64:
        if xstep == 0:  # a float step that truncates to 0
            raise ArgumentError(with_location(
                f"arange: step must be nonzero (step={step} is 0 as an int64)"))
        sign = 1 if xstep > 0 else -1
        n = (xend - xstart + xstep - sign) // xstep  # operands of one sign: C's division
    else:
        n = int(np.ceil((float(end) - float(start)) / float(step)))
    check_size((n,), builtins.max(acc, dt, key=lambda d: d.np_dtype.itemsize), "arange")
    values = emit(hl.IotaOp, result_type=tensor_type(acc.ir_type, (n,)), dim=0)
    if xstep != 1:
        values = mul(values, full((), xstep, acc))
    if xstart != 0:
        values = add(values, full((), xstart, acc))
    return to_dtype(values, dt)


@factory
def linspace(start, end, steps: int, *, dtype: Any = None) -> Tensor:
    """torch.linspace, computed as torch's CPU kernel: start + i * step for the first
    half, end - (steps - 1 - i) * step for the second; for integer dtypes in double
    (start and end truncated first) and truncated toward zero, so that
    linspace(5, 10, 3, dtype=int32) is [5, 7, 10]."""
    start, end = _number(start, "linspace", "start"), _number(end, "linspace", "end")
    steps = int(_number(steps, "linspace", "steps"))
    if steps < 0:  # torch: RuntimeError
        raise like(ArgumentError, RuntimeError)(with_location(
            f"linspace: number of steps must be non-negative, got {steps}"))
    dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float()
    if dt == dtypes.bool_:  # torch has no bool kernel (NotImplementedError)
        raise like(DTypeError, NotImplementedError)(with_location(
            "linspace: not implemented for bool"))
    check_size((steps,), dtypes.float64, "linspace")
    if steps <= 1:
        return full((steps,), start, dtype=dt)
    if dt.category < 2:  # torch converts the ends to the integer type, steps in double
        work = dtypes.float64
        lo, hi = (float(dtypes.wrap_int(int(v), dt)) for v in (start, end))
        step = (hi - lo) / (steps - 1)
    else:
        work = dt if dt.bits > 16 else dtypes.float32
        t = work.np_dtype.type
        lo, hi = t(start), t(end)
        step = (hi - lo) / t(steps - 1)
    idx = emit(hl.IotaOp, result_type=tensor_type(work.ir_type, (steps,)), dim=0)
    first = add(mul(idx, full((), step, work)), full((), lo, work))
    second = sub(full((), hi, work), mul(sub(float(steps - 1), idx), full((), step, work)))
    return to_dtype(where(lt(idx, float(steps // 2)), first, second), dt)


@factory
def eye(n: int, m: int | None = None, *, dtype: Any = None) -> Tensor:
    m = n if m is None else m
    for name, v in (("n", n), ("m", m)):
        if v < 0:
            raise ShapeError(with_location(f"eye: {name} must be >= 0, got {v}"))
    check_size((n, m), dtypes.int64, "eye")
    rows = emit(hl.IotaOp, result_type=tensor_type(dtypes.int64.ir_type, (n, m)), dim=0)
    cols = emit(hl.IotaOp, result_type=tensor_type(dtypes.int64.ir_type, (n, m)), dim=1)
    return eq(rows, cols).to(dtype or dtypes.default_float())


def constant(value: Any, dtype: Any = None) -> Tensor:
    """A tensor baked into the program as a dense `hl.constant` (not an input)."""
    from lamina.dialects.hl.base import numpy_to_dense

    array = np.asarray(value)
    dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.from_numpy(array.dtype)
    array = array.astype(dt.np_dtype)
    return emit(hl.ConstantOp, value=numpy_to_dense(array, dt.ir_type))
