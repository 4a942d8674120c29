"""Tensor operators and PyTorch-named methods, attached to `Tensor` in one place."""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, DTypeError, ShapeError, like, with_location
from lamina.frontend import ops, strides, tensor_queries

__all__ = ["accept_numpy_keywords", "as_view_method", "install"]


def _swap(fn):
    return lambda self, other: fn(other, self)


def _invert(self):
    """`~x`: logical not of bools, bitwise not (-x - 1) of integers; floats are an error."""
    if self.dtype == dtypes.bool_:
        return ops.logical_not(self)
    if self.dtype.is_floating_point:
        raise DTypeError(with_location(
            f"bitwise_not: needs an integer or bool tensor, got shape {list(self.shape)} "
            f"and dtype {self.dtype.name}"))
    return ops.sub(ops.neg(self), 1)


def _inplace(fn):
    def method(self, *args: Any, **kwargs: Any):
        return _assign_result(self, fn(self, *args, **kwargs), getattr(fn, "__name__", "op"))

    return method


def _inplace_of(name: str):
    """`x.name_(...)`: the method `name` (looked up when called: some are installed by
    other modules) written back into x."""
    def method(self, *args: Any, **kwargs: Any):
        return _assign_result(self, getattr(self, name)(*args, **kwargs), name)

    method.__name__ = f"{name}_"
    return method


_TORCH_NAMES = {0: "Bool", 1: "Long", 2: "Float"}


def _assign_result(self, out, op: str):
    """An in-place op keeps self's dtype, and like torch refuses a result of a higher
    kind (float into an integer tensor, an integer into a bool one)."""
    if out.dtype.category > self.dtype.category:
        raise DTypeError(with_location(
            f"{op}_: result type {out.dtype.name} can't be cast to the desired output type "
            f"{self.dtype.name} (torch: result type {_TORCH_NAMES[out.dtype.category]} "
            f"can't be cast to {_TORCH_NAMES[self.dtype.category]})"))
    return self._assign(out)


def _to(self, *args: Any, **kwargs: Any):
    """torch's `Tensor.to`: `.to(dtype, non_blocking, copy)`, `.to(device, dtype,
    non_blocking, copy)` or `.to(other, non_blocking, copy)`, positionally or by keyword.
    Devices ("cpu", "cuda", "cuda:0", torch.device) are accepted and ignored (the
    backend decides where a program runs); dtypes are lamina's, names, numpy's or
    torch's. As in torch, the tensor itself comes back when nothing changes and
    `copy` is false."""
    args = list(args)
    if args and _is_device(args[0]):
        kwargs.setdefault("device", args.pop(0))
    elif args and isinstance(args[0], self.__class__):
        kwargs.setdefault("dtype", args.pop(0).dtype)
    names = ["dtype", "non_blocking", "copy"] if "dtype" not in kwargs else \
        ["non_blocking", "copy"]
    if len(args) > len(names):
        raise ArgumentError(with_location(f"to: too many arguments ({len(args)} positional)"))
    for name, value in zip(names, args, strict=False):
        if name in kwargs:
            raise ArgumentError(with_location(f"to: got {name} twice"))
        kwargs[name] = value
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"}
    if unknown:
        raise ArgumentError(with_location(f"to: unexpected keyword {sorted(unknown)[0]!r}"))
    device = kwargs.get("device")
    if device is not None and not _is_device(device):
        raise ArgumentError(with_location(f"to: {device!r} is neither a device nor a dtype"))
    dtype = kwargs.get("dtype")
    if isinstance(dtype, str) and _is_device(dtype):
        dtype = None
    out = self if dtype is None else ops.to_dtype(self, dtype)
    return ops.fresh(out) if kwargs.get("copy") and out is self else out


_is_device = ops.is_device


def _cuda(self, device: Any = None, non_blocking: bool = False, memory_format: Any = None):
    """`t.cuda()`: the tensor itself, as `t.to("cuda")` (programs run where their backend
    puts them; see `lm.cuda`)."""
    if device is not None and not _is_device(device):
        raise ArgumentError(with_location(f"cuda: {device!r:.40} is not a device"))
    return self


def _matmul(a, b):
    from lamina.frontend import linalg

    return linalg.matmul(a, b)


def _products():
    from lamina.frontend import linalg

    return linalg


def _bernoulli(self, p: Any = None, *, generator: Any = None):
    """`t.bernoulli()` draws with probabilities t; `t.bernoulli(p)` with probability p,
    in t's shape and dtype (torch's two overloads)."""
    from lamina.frontend import random

    probs = self if p is None else ops.full(self.shape, p, dtype=self.dtype)
    return random.bernoulli(probs, generator=generator)


def _getitem(self, index):
    from lamina.frontend import indexing

    return indexing.getitem(self, index)


def _setitem(self, index, value):
    from lamina.frontend import indexing

    self._assign(indexing.setitem(self, index, value))


# methods whose result is a view of `self` in torch: an in-place update of the result
# writes `self` (Tensor._link_view); reshapes are views only of a tensor that is not
# itself a view (torch copies a non-contiguous one, and lamina does not track strides)
_VIEWS = ("t", "transpose", "swapaxes", "permute", "view", "view_as", "squeeze",
          "unsqueeze", "narrow", "select", "chunk", "split", "unbind", "__getitem__")
_VIEWS_OF_FRESH = ("reshape", "flatten", "reshape_as")


def _basic_index(index: Any) -> bool:
    """Ints, slices, None and Ellipsis only: torch's basic indexing gives a view."""
    items = index if isinstance(index, tuple) else (index,)
    return all(item is None or item is Ellipsis or isinstance(item, slice)
               or (isinstance(item, int | np.integer) and not isinstance(item, bool))
               for item in items)


def _restride(name: str, x, out, args: tuple, kwargs: dict) -> None:
    """The results of a view op get torch's strides; `view` of a layout that has no such
    view raises torch's RuntimeError."""
    layout = x._layout()
    for part in out if isinstance(out, tuple) else (out,):
        new = strides.after(name, x.shape, layout, args, kwargs, part.shape)
        if new is None and name in ("view", "view_as") and x._strides is not None:
            raise like(ShapeError, RuntimeError)(with_location(
                f"view: view size {list(part.shape)} is not compatible with input tensor's "
                f"size {list(x.shape)} and stride {list(layout)} (at least one dimension "
                f"spans across two contiguous subspaces). Use .reshape(...) instead."))
        part._set_layout(new)


def _restrided(name: str, fn):
    def method(self, *args: Any, **kwargs: Any):
        out = fn(self, *args, **kwargs)
        _restride(name, self, out, args, kwargs)
        return out

    method.__name__ = getattr(fn, "__name__", name)
    method.__doc__ = getattr(fn, "__doc__", None)
    method.__wrapped__ = fn
    return method


def _viewing(name: str, fn):
    def method(self, *args: Any, **kwargs: Any):
        out = fn(self, *args, **kwargs)
        _restride(name, self, out, args, kwargs)  # (raises for a view torch refuses)
        if name == "__getitem__" and not _basic_index(args[0]):
            return out
        if name in _VIEWS_OF_FRESH and self._is_view():
            return out
        if isinstance(out, tuple):
            for k, part in enumerate(out):
                part._link_view(self, lambda ids, k=k: fn(ids, *args, **kwargs)[k])
        else:
            out._link_view(self, lambda ids: fn(ids, *args, **kwargs))
        return out

    method.__name__ = getattr(fn, "__name__", name)
    method.__doc__ = getattr(fn, "__doc__", None)
    method.__wrapped__ = fn  # its signature (numpy_keywords reads it)
    return method


def as_view_method(name: str, fn):
    """`fn` as the Tensor method `name`, its results linked as views when torch's are."""
    return _viewing(name, fn) if name in (*_VIEWS, *_VIEWS_OF_FRESH) else fn


def _views(Tensor: type) -> None:
    for name in (*_VIEWS, *_VIEWS_OF_FRESH):
        if hasattr(Tensor, name):  # the rest are installed by indexing.py
            setattr(Tensor, name, _viewing(name, getattr(Tensor, name)))
    T = lambda self: ops.permute(self, *reversed(range(self.ndim)))  # noqa: E731
    mT = lambda self: ops.transpose(self, -2, -1)  # noqa: E731
    Tensor.T = property(_viewing("T", T))
    Tensor.mT = property(_viewing("mT", mT))


def install(Tensor: type) -> None:
    binary = {
        "add": ops.add, "sub": ops.sub, "mul": ops.mul, "truediv": ops.div,
        "floordiv": ops.floor_divide, "mod": ops.remainder, "pow": ops.pow,
        "and": ops.bitwise_and, "or": ops.bitwise_or, "xor": ops.bitwise_xor,
        "matmul": _matmul, "lshift": ops.bitwise_left_shift, "rshift": ops.bitwise_right_shift,
    }
    for name, fn in binary.items():
        setattr(Tensor, f"__{name}__", lambda self, other, fn=fn: fn(self, other))
        setattr(Tensor, f"__r{name}__", _swap(fn))
        setattr(Tensor, f"__i{name}__", _inplace(fn))
    for name, fn in {"eq": ops.eq, "ne": ops.ne, "lt": ops.lt, "le": ops.le,
                     "gt": ops.gt, "ge": ops.ge}.items():
        setattr(Tensor, f"__{name}__", lambda self, other, fn=fn: fn(self, other))
    Tensor.__neg__ = lambda self: ops.neg(self)
    Tensor.__pos__ = lambda self: self
    Tensor.__abs__ = lambda self: ops.abs(self)
    Tensor.__invert__ = _invert
    Tensor.__getitem__ = _getitem
    Tensor.__setitem__ = _setitem

    from lamina.frontend import (  # noqa: F401  (their methods)
        arrange,
        linalg_decomp,
        math_extra,
        sampling,
        shape_extra,
        special,
        spellings,
    )

    for name, fn in ops.METHODS.items():  # functions marked @method (ops.py, *_extra.py)
        setattr(Tensor, name, fn)
    aliases = {"view": ops.reshape, "multiply": ops.mul, "subtract": ops.sub,
               "divide": ops.div, "true_divide": ops.div, "clamp_min": lambda x, v: ops.clamp(x, v),
               "clamp_max": lambda x, v: ops.clamp(x, None, v), "negative": ops.neg,
               "zeros_like": ops.zeros_like, "ones_like": ops.ones_like,
               "broadcast_to": ops.broadcast_to, "where": lambda self, c, o: ops.where(c, self, o),
               "masked_fill": _masked_fill,
               "type_as": lambda self, o: ops.to_dtype(self, o.dtype),
               "expand_as": lambda self, o: ops.broadcast_to(self, o.shape),
               "view_as": lambda self, o: ops.reshape(self, o.shape),
               "reshape_as": lambda self, o: ops.reshape(self, o.shape),
               "float": lambda self: ops.to_dtype(self, dtypes.float32),
               "double": lambda self: ops.to_dtype(self, dtypes.float64),
               "half": lambda self: ops.to_dtype(self, dtypes.float16),
               "bfloat16": lambda self: ops.to_dtype(self, dtypes.bfloat16),
               "long": lambda self: ops.to_dtype(self, dtypes.int64),
               "int": lambda self: ops.to_dtype(self, dtypes.int32),
               "bool": lambda self: ops.to_dtype(self, dtypes.bool_),
               "contiguous": lambda self, memory_format=None:
                   self if self._strides is None else ops.fresh(self), "cpu": lambda self: self,
               "cuda": _cuda,
               "matmul": _matmul, "mm": _matmul, "bmm": _matmul, "to": _to,
               "swapaxes": ops.transpose, "swapdims": ops.transpose,
               "arcsin": ops.asin, "arccos": ops.acos, "arcsinh": ops.asinh,
               "arccosh": ops.acosh, "arctanh": ops.atanh,
               "bitwise_and": ops.bitwise_and, "bitwise_or": ops.bitwise_or,
               "bitwise_xor": ops.bitwise_xor, "ndimension": lambda self: self.ndim,
               "dot": lambda self, other: _products().dot(self, other),
               "mv": lambda self, vec: _products().mv(self, vec),
               "outer": lambda self, vec2: _products().outer(self, vec2),
               "bernoulli": _bernoulli,
               "byte": lambda self: ops.to_dtype(self, dtypes.uint8),
               "char": lambda self: ops.to_dtype(self, dtypes.int8),
               "short": lambda self: ops.to_dtype(self, dtypes.int16)}
    for name, fn in aliases.items():
        setattr(Tensor, name, fn)
    def new(make):
        @ops.factory
        def method(self, *args, dtype=None, requires_grad=False, **kwargs):
            return make(*args, dtype=dtype or self.dtype, requires_grad=requires_grad, **kwargs)
        return method

    Tensor.new_zeros = new(ops.zeros)
    Tensor.new_ones = new(ops.ones)
    Tensor.new_empty = new(ops.empty)
    Tensor.new_full = new(ops.full)
    Tensor.new_tensor = new(ops.tensor)
    Tensor.T = property(lambda self: ops.permute(self, *reversed(range(self.ndim))))
    Tensor.mT = property(lambda self: ops.transpose(self, -2, -1))

    for name in ("expand", "broadcast_to", "expand_as"):
        setattr(Tensor, name, _restrided(name, getattr(Tensor, name)))
    tensor_queries.install(Tensor)
    for name in ("t", "transpose", "swapaxes", "swapdims", "squeeze", "unsqueeze"):
        setattr(Tensor, f"{name}_", lambda self, *args, _name=name: self._assign_reshaped(
            getattr(ops.fresh(self), _name)(*args)))
    for name in _INPLACE_OF:
        if not hasattr(Tensor, f"{name}_"):
            setattr(Tensor, f"{name}_", _inplace_of(name))
    Tensor.zero_ = lambda self: self._assign(ops.zeros_like(self))
    Tensor.fill_ = lambda self, v: self._assign(ops.full_like(self, v))
    Tensor.addcmul_ = lambda self, a, b, value=1: _assign_result(
        self, ops.add(self, ops.mul(ops.mul(a, b), value)), "addcmul")
    Tensor.addcdiv_ = lambda self, a, b, value=1: _assign_result(
        self, ops.add(self, ops.mul(ops.div(a, b), value)), "addcdiv")
    Tensor.lerp_ = lambda self, end, weight: _assign_result(
        self, ops.add(self, ops.mul(ops.sub(end, self), weight)), "lerp")
    _views(Tensor)


# torch's in-place `x.f_(...)` of these methods: `x.f(...)` written back into x (its dtype
# kept; a result of a higher kind refused). The shape-changing ones (t_, squeeze_, ...)
# are installed next to it.
_INPLACE_OF = (
    "add", "sub", "mul", "div", "clamp", "pow", "neg", "exp", "sqrt", "relu", "masked_fill",
    "abs", "absolute", "acos", "arccos", "acosh", "arccosh", "asin", "arcsin", "asinh",
    "arcsinh", "atan", "arctan", "atan2", "arctan2", "atanh", "arctanh", "addbmm", "addmm",
    "addmv", "addr", "baddbmm", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "bitwise_left_shift", "bitwise_right_shift", "ceil", "clamp_max", "clamp_min", "clip",
    "copysign", "cos", "cosh", "deg2rad", "divide", "eq", "erf", "exp2", "expm1", "fix",
    "floor", "floor_divide", "fmod", "frac", "ge", "greater", "greater_equal", "gt",
    "heaviside", "hypot", "ldexp", "le", "less", "less_equal", "log", "log10", "log1p",
    "log2", "logical_and", "logical_not", "logical_or", "logical_xor", "logit", "lt",
    "multiply", "nan_to_num", "ne", "negative", "not_equal", "rad2deg", "reciprocal",
    "remainder", "renorm", "round", "rsqrt", "sgn", "sigmoid", "sign", "sin", "sinc", "sinh",
    "square", "subtract", "tan", "tanh", "tril", "triu", "true_divide", "trunc", "xlogy",
    "float_power",
)


def _masked_fill(self: Any, mask: Any, value: Any) -> Any:
    """`value` where `mask`, in `self`'s dtype (torch casts the value: an int tensor
    filled with 2.7 gets 2, a bool tensor filled with 10 stays bool)."""
    if isinstance(value, ops.Tensor):
        fill = value.to(self.dtype) if value.dtype != self.dtype else value
    else:
        _check_fits(value, self.dtype, "masked_fill")
        fill = ops.full((), value, dtype=self.dtype)
    return ops.where(mask, fill, self)


def _check_fits(value: Any, dt: dtypes.DType, op: str) -> None:
    """torch's checked conversion of a fill value: one outside the dtype's range (or NaN
    into an integer) is a RuntimeError, where a plain conversion would wrap."""
    if dt == dtypes.bool_ or isinstance(value, bool):
        return
    v = float(value)
    if dt.is_floating_point:
        info = np.finfo(dt.np_dtype) if dt.name != "bfloat16" else None
        if info is None or np.isnan(v) or np.isinf(v) or -float(info.max) <= v <= float(info.max):
            return
    else:
        info = np.iinfo(dt.np_dtype)
        if not np.isnan(v) and int(info.min) <= v <= int(info.max):
            return
    raise like(DTypeError, RuntimeError)(with_location(
        f"{op}: value {value!r} cannot be converted to type {dt.name} without overflow"))


def accept_numpy_keywords(Tensor: type) -> None:
    """Every Tensor method with a `dim` also takes `axis=`/`keepdims=` (run once all the
    frontend modules have installed their methods: lamina.api does)."""
    for name, value in list(vars(Tensor).items()):
        if callable(value) and not isinstance(value, type) and not name.startswith("__"):
            wrapped = ops.numpy_keywords(value)
            if wrapped is not value:
                setattr(Tensor, name, wrapped)
