"""Activation modules with torch's constructors, reprs and `inplace` flags (accepted,
ignored: lamina's tensors are values, so an in-place activation is the same result)."""

from __future__ import annotations

from typing import Any

from lamina.frontend.tensor import Tensor
from lamina.nn import functional as F
from lamina.nn.module import Module, Parameter

__all__ = [
    "CELU", "ELU", "GLU", "Hardshrink", "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU",
    "LogSigmoid", "Mish", "PReLU", "RReLU", "ReLU6", "SELU", "Softmax2d", "Softmin",
    "Softplus", "Softshrink", "Softsign", "Tanhshrink", "Threshold",
]


_REQUIRED = object()


class _Elementwise(Module):
    """An activation whose constructor arguments are passed to its functional form."""

    fn: Any = None
    params: tuple[str, ...] = ()
    defaults: tuple[Any, ...] = ()  # one per param; _REQUIRED where torch has none

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()
        names = (*self.params, "inplace")
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}() takes at most {len(names)} arguments "
                            f"({len(args)} given)")
        values = dict(zip(names, args, strict=False))
        for key in kwargs:
            if key not in names or key in values:
                raise TypeError(f"{type(self).__name__}() got an unexpected or repeated "
                                f"keyword argument {key!r}")
        values.update(kwargs)
        for name, default in zip(names, (*self.defaults, False), strict=True):
            if name not in values and default is _REQUIRED:
                raise TypeError(f"{type(self).__name__}() missing required argument {name!r}")
            setattr(self, name, values.get(name, default))

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input, *(getattr(self, n) for n in self.params))

    def extra_repr(self) -> str:
        parts = [f"{n}={getattr(self, n)}" for n in self.params]
        if getattr(self, "inplace", False):
            parts.append("inplace=True")
        return ", ".join(parts)


def _elementwise(name: str, fn: Any, params: tuple[str, ...] = (),
                 defaults: tuple[Any, ...] = (), doc: str = "") -> type[Module]:
    return type(name, (_Elementwise,), {"fn": staticmethod(fn), "params": params,
                                        "defaults": defaults, "__doc__": doc or fn.__doc__,
                                        "__module__": __name__})


LeakyReLU = _elementwise("LeakyReLU", F.leaky_relu, ("negative_slope",), (0.01,))
ELU = _elementwise("ELU", F.elu, ("alpha",), (1.0,))
CELU = _elementwise("CELU", F.celu, ("alpha",), (1.0,))
SELU = _elementwise("SELU", F.selu)
ReLU6 = _elementwise("ReLU6", F.relu6)
Hardsigmoid = _elementwise("Hardsigmoid", F.hardsigmoid)
Hardswish = _elementwise("Hardswish", F.hardswish)
Mish = _elementwise("Mish", F.mish)
Hardtanh = _elementwise("Hardtanh", F.hardtanh, ("min_val", "max_val"), (-1.0, 1.0))
Threshold = _elementwise("Threshold", F.threshold, ("threshold", "value"),
                         (_REQUIRED, _REQUIRED))


class _NoInplace(Module):
    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in vars(self).items()
                         if not k.startswith("_") and k != "training")


class Softplus(_NoInplace):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)


class Softsign(_NoInplace):
    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(input)


class LogSigmoid(_NoInplace):
    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(input)


class Tanhshrink(_NoInplace):
    def forward(self, input: Tensor) -> Tensor:
        return F.tanhshrink(input)


class Hardshrink(_NoInplace):
    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)


class Softshrink(Hardshrink):
    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class GLU(_NoInplace):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)


class Softmin(_NoInplace):
    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim)


class Softmax2d(_NoInplace):
    """softmax over the channels of a (C, H, W) or (N, C, H, W) input."""

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            from lamina.errors import ShapeError, with_location

            raise ShapeError(with_location(
                f"Softmax2d: expected a 3-d or 4-d input, got shape {list(input.shape)}"))
        return F.softmax(input, -3)


class RReLU(_NoInplace):
    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training)


class PReLU(Module):
    """leaky ReLU with learned slopes: one, or one per channel (`num_parameters`)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None,
                 dtype: Any = None):
        super().__init__()
        from lamina.frontend import ops as O

        self.num_parameters = num_parameters
        self.weight = Parameter(O.full((num_parameters,), init, dtype=dtype))

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
