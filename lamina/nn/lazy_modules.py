"""Lazy modules: `LazyLinear(out_features)` learns `in_features` from its first input,
as torch's. Until then its weights are `UninitializedParameter`s; the first call
builds the module it becomes (`cls_to_become`, initialized as that module is),
materializes the placeholders with its values — the same objects, so an optimizer
made before the first call holds them — and turns into that module. Loading a
state dict into a lazy module materializes from the dict's shapes."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, with_location
from lamina.frontend import graph as graphs
from lamina.frontend.tensor import Tensor
from lamina.nn import conv, normalization
from lamina.nn.layers import Linear
from lamina.nn.module import Module, Parameter

__all__ = [
    "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d",
    "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
    "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d", "LazyLinear",
    "UninitializedBuffer", "UninitializedParameter",
]


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (no data: reading it is an error)."""

    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None):
        dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float()
        super().__init__(np.zeros((0,), dt.np_dtype), requires_grad)

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        dt = dtypes.as_dtype(dtype) if dtype is not None else self.dtype
        self._materialize(np.zeros(tuple(shape), dt.np_dtype))
        self.__class__ = self.cls_to_become

    def __repr__(self) -> str:
        return "<UninitializedParameter>"

    __str__ = __repr__


class UninitializedBuffer(Tensor):
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None):
        dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float()
        self._init_value(np.zeros((0,), dt.np_dtype), None, requires_grad)

    materialize = UninitializedParameter.materialize

    def __repr__(self) -> str:
        return "<UninitializedBuffer>"


def _uninitialized(t: Any) -> bool:
    return isinstance(t, UninitializedParameter | UninitializedBuffer)


class LazyModuleMixin(Module):
    """What the lazy modules share: placeholders, the first-call hook, the swap."""

    cls_to_become: type[Module]
    _placeholders: tuple[str, ...] = ("weight", "bias")
    _buffer_placeholders: tuple[str, ...] = ()

    def __init__(self, *args: Any, bias: bool = True, affine: bool = True,
                 track_running_stats: bool = True, dtype: Any = None, **kwargs: Any):
        super().__init__()
        object.__setattr__(self, "_lazy_args", (args, dict(kwargs, dtype=dtype)))
        object.__setattr__(self, "_lazy_flags", {"bias": bias, "affine": affine,
                                                 "track_running_stats": track_running_stats})
        for name in self._placeholders:
            wanted = affine if name in ("weight", "bias") and self._is_norm() else (
                bias if name == "bias" else True)
            if wanted:
                setattr(self, name, UninitializedParameter(dtype=dtype))
            else:
                self.register_parameter(name, None)
        for name in self._buffer_placeholders:
            if track_running_stats:
                self.register_buffer(name, UninitializedBuffer(
                    dtype=dtypes.int64 if name == "num_batches_tracked" else dtype))
        handle = self.register_forward_pre_hook(lambda module, args: module._first_call(args))
        object.__setattr__(self, "_lazy_hook", handle)

    @classmethod
    def _is_norm(cls) -> bool:
        return issubclass(cls.cls_to_become, normalization._NormBase)

    def has_uninitialized_params(self) -> bool:
        return any(_uninitialized(t) for t in [*self._parameters.values(),
                                               *self._buffers.values()])

    def _in_features(self, input: Tensor) -> int:
        raise NotImplementedError

    def _first_call(self, args: tuple) -> None:
        if self.has_uninitialized_params():
            if not args or not isinstance(args[0], Tensor):
                raise ArgumentError(with_location(
                    f"{type(self).__name__}: the first call needs a tensor input to infer "
                    f"its size"))
            self.initialize_parameters(args[0])

    def initialize_parameters(self, input: Tensor) -> None:
        self._become(self._in_features(input))

    def _become(self, in_features: int) -> None:
        args, kwargs = self._lazy_args
        flags = self._lazy_flags
        extra = {k: v for k, v in flags.items()
                 if k in _keywords(self.cls_to_become)}
        with graphs.outside_traces():  # (a first call inside lm.jit: initial values are data)
            real = self.cls_to_become(in_features, *args, **kwargs, **extra)
        for table in ("_parameters", "_buffers"):
            mine, theirs = self.__dict__[table], real.__dict__[table]
            for name, value in theirs.items():
                holder = mine.get(name)
                if _uninitialized(holder) and value is not None:
                    holder.materialize(value.shape, dtype=value.dtype)
                    holder._set_array(np.array(value.numpy(), copy=True))
                    theirs[name] = holder
        self._lazy_hook.remove()
        for key in ("_lazy_args", "_lazy_flags", "_lazy_hook"):
            self.__dict__.pop(key, None)
        hooks = self.__dict__.get("_hooks")
        self.__dict__.update({k: v for k, v in real.__dict__.items() if k != "_hooks"})
        if hooks is not None:
            object.__setattr__(self, "_hooks", hooks)
        object.__setattr__(self, "__class__", self.cls_to_become)

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> Any:
        if self.has_uninitialized_params():
            weight = state_dict.get("weight") if self._placeholders else None
            shape = getattr(weight, "shape", None) if weight is not None else None
            if shape is None and "running_mean" in state_dict:
                shape = (state_dict["running_mean"].shape[0],)
            if shape is not None:
                self._become(self._features_from_weight(tuple(shape)))
                return self.load_state_dict(state_dict, strict)
        return super().load_state_dict(state_dict, strict)

    def _features_from_weight(self, shape: tuple[int, ...]) -> int:
        return shape[1]


def _keywords(cls: type) -> set[str]:
    return set(inspect.signature(cls.__init__).parameters)


class LazyLinear(LazyModuleMixin):
    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None):
        super().__init__(out_features, bias=bias, dtype=dtype)

    def _in_features(self, input: Tensor) -> int:
        return input.shape[-1]


class _LazyConv(LazyModuleMixin):
    _nd = 2
    _transposed = False

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 *rest: Any, bias: bool = True, device: Any = None, dtype: Any = None,
                 **kwargs: Any):
        super().__init__(out_channels, kernel_size, stride, padding, *rest, bias=bias,
                         dtype=dtype, **kwargs)

    def _in_features(self, input: Tensor) -> int:
        return input.shape[1] if input.ndim == self._nd + 2 else input.shape[0]

    def _features_from_weight(self, shape: tuple[int, ...]) -> int:
        groups = self._lazy_args[1].get("groups", 1)
        return shape[0] if self._transposed else shape[1] * groups


def _conv(name: str, real: type, nd: int, transposed: bool) -> type:
    return type(name, (_LazyConv,), {"cls_to_become": real, "_nd": nd,
                                     "_transposed": transposed, "__module__": __name__,
                                     "__doc__": f"{real.__name__} with in_channels inferred."})


LazyConv1d = _conv("LazyConv1d", conv.Conv1d, 1, False)
LazyConv2d = _conv("LazyConv2d", conv.Conv2d, 2, False)
LazyConv3d = _conv("LazyConv3d", conv.Conv3d, 3, False)
LazyConvTranspose1d = _conv("LazyConvTranspose1d", conv.ConvTranspose1d, 1, True)
LazyConvTranspose2d = _conv("LazyConvTranspose2d", conv.ConvTranspose2d, 2, True)
LazyConvTranspose3d = _conv("LazyConvTranspose3d", conv.ConvTranspose3d, 3, True)


class _LazyNorm(LazyModuleMixin):
    _buffer_placeholders = ("running_mean", "running_var", "num_batches_tracked")
    _default_affine = True

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool | None = None, track_running_stats: bool | None = None,
                 device: Any = None, dtype: Any = None):
        affine = self._default_affine if affine is None else affine
        track = self._default_affine if track_running_stats is None else track_running_stats
        super().__init__(eps, momentum, affine=affine, track_running_stats=track, dtype=dtype)

    def _in_features(self, input: Tensor) -> int:
        unbatched = input.ndim == self.cls_to_become._dims[0] - 1 and \
            issubclass(self.cls_to_become, normalization._InstanceNorm)
        return input.shape[0] if unbatched else input.shape[1]

    def _features_from_weight(self, shape: tuple[int, ...]) -> int:
        return shape[0]


def _norm(name: str, real: type, default_affine: bool) -> type:
    return type(name, (_LazyNorm,), {"cls_to_become": real, "_default_affine": default_affine,
                                     "__module__": __name__,
                                     "__doc__": f"{real.__name__} with num_features inferred."})


LazyBatchNorm1d = _norm("LazyBatchNorm1d", normalization.BatchNorm1d, True)
LazyBatchNorm2d = _norm("LazyBatchNorm2d", normalization.BatchNorm2d, True)
LazyBatchNorm3d = _norm("LazyBatchNorm3d", normalization.BatchNorm3d, True)
# (torch's lazy instance norms default to affine and tracked statistics, unlike
# InstanceNorm*d)
LazyInstanceNorm1d = _norm("LazyInstanceNorm1d", normalization.InstanceNorm1d, True)
LazyInstanceNorm2d = _norm("LazyInstanceNorm2d", normalization.InstanceNorm2d, True)
LazyInstanceNorm3d = _norm("LazyInstanceNorm3d", normalization.InstanceNorm3d, True)
