"""Layers with PyTorch's constructors, parameter names and default initializations."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, ShapeError, like, with_location
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor
from lamina.nn import functional as F
from lamina.nn import init
from lamina.nn.module import Module, Parameter

__all__ = [
    "Dropout", "Embedding", "Flatten", "GELU", "Identity", "LayerNorm",
    "Linear", "LogSoftmax", "ReLU", "SiLU", "Sigmoid", "Softmax", "Tanh",
]


def _empty(*shape: int, dtype: Any = None) -> Parameter:
    """A zero parameter of `shape`, checked as torch checks a module's sizes: an int that
    is no int is a TypeError, a negative one a RuntimeError, both naming the module."""
    module = _module_name()
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise ArgumentError(with_location(
                f"{module}: sizes must be ints, got {n!r:.30} (parameter shape {list(shape)})"))
    if any(n < 0 for n in shape):
        raise ShapeError(with_location(
            f"{module}: cannot create a parameter with a negative size: {list(shape)}"))
    dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float()
    O.check_size(tuple(int(n) for n in shape), dt, module)
    return Parameter(np.zeros(shape, dt.np_dtype))


def _module_name() -> str:
    """The class of the module whose __init__ is running (for error messages)."""
    frame = sys._getframe(2)
    while frame is not None:
        me = frame.f_locals.get("self")
        if frame.f_code.co_name == "__init__" and isinstance(me, Module):
            return type(me).__name__
        frame = frame.f_back
    return "parameter"


def _pair(x: Any) -> Any:
    if isinstance(x, str):  # padding="same" / "valid"
        return x
    return (x, x) if isinstance(x, int) else (int(x[0]), int(x[1]))


class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x·Wᵀ + b; W is (out_features, in_features), both drawn U(-1/√in, 1/√in)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = _empty(out_features, in_features, dtype=dtype)
        self.bias = _empty(out_features, dtype=dtype) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, " \
               f"bias={self.bias is not None}"


class LayerNorm(Module):
    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: Any = None,
                 dtype: Any = None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.weight = init.ones_(_empty(*shape, dtype=dtype)) if elementwise_affine else None
        self.bias = _empty(*shape, dtype=dtype) if elementwise_affine and bias else None

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"


class Embedding(Module):
    """A table of `num_embeddings` vectors drawn N(0, 1); the padding row is zero.
    `max_norm` renormalizes the looked-up rows in place (as torch's), and
    `scale_grad_by_freq` divides each row's gradient by its count in the batch; `sparse`
    gradients are computed dense (the same values)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Any = None, _freeze: bool = False, device: Any = None,
                 dtype: Any = None):
        super().__init__()
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise like(ArgumentError, AssertionError)(with_location(  # torch: AssertionError
                f"Embedding: padding_idx {padding_idx} must be within num_embeddings "
                f"{num_embeddings}"))
        self.padding_idx = padding_idx
        if _weight is not None:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ShapeError(with_location(
                    f"Embedding: _weight has shape {list(_weight.shape)}, expected "
                    f"{[num_embeddings, embedding_dim]}"))
            self.weight = Parameter(_weight, requires_grad=not _freeze)
            return
        self.weight = init.normal_(_empty(num_embeddings, embedding_dim, dtype=dtype))
        if padding_idx is not None:
            self.weight.numpy()[padding_idx] = 0  # the concrete array, as torch's .numpy()
        if _freeze:
            self.weight.requires_grad_(False)

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        if getattr(embeddings, "ndim", None) != 2:
            raise ShapeError(with_location("Embedding.from_pretrained: embeddings must be 2-D"))
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm,
                           self.norm_type, self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Dropout(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:  # torch: ValueError
            raise ArgumentError(with_location(
                f"Dropout: p must be a probability in [0, 1], got {p}"))
        self.p = p

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return O.flatten(input, self.start_dim, self.end_dim)


def _activation(name: str, fn: Any, doc: str) -> type[Module]:
    def forward(self: Module, input: Tensor) -> Tensor:
        return fn(input)

    return type(name, (Module,), {"forward": forward, "__doc__": doc,
                                  "__init__": lambda self, *a, **k: Module.__init__(self)})


ReLU = _activation("ReLU", F.relu, "max(x, 0)")
SiLU = _activation("SiLU", F.silu, "x·sigmoid(x)")
Tanh = _activation("Tanh", F.tanh, "tanh(x)")
Sigmoid = _activation("Sigmoid", F.sigmoid, "1 / (1 + e^-x)")


class GELU(Module):
    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)


class Softmax(Module):
    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)


class LogSoftmax(Softmax):
    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)


class _DropoutNd(Module):
    """Zero whole channels (every element of a (sample, channel)) with probability p."""

    _nd = 0

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p = p

    def forward(self, input: Tensor) -> Tensor:
        from lamina.errors import ArgumentError, with_location
        from lamina.frontend import random

        if not 0.0 <= self.p <= 1.0:
            raise ArgumentError(with_location(f"dropout: p must be in [0, 1], got {self.p}"))
        if not self.training or self.p == 0.0:
            return input
        batched = input.ndim == self._nd + 2
        if input.ndim not in (self._nd + 1, self._nd + 2):
            from lamina.errors import ShapeError

            raise ShapeError(with_location(
                f"{type(self).__name__}: expected a {self._nd + 1}-D or {self._nd + 2}-D "
                f"input, got shape {list(input.shape)}"))
        lead = input.shape[:2] if batched else input.shape[:1]
        mask_shape = (*lead, *([1] * self._nd))
        if self.p == 1.0:
            return input * 0.0
        keep = random.dropout_mask(mask_shape, self.p, dtype=input.dtype)
        return O.where(keep, input * (1.0 / (1.0 - self.p)), 0.0)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout1d(_DropoutNd):
    _nd = 1


class Dropout2d(_DropoutNd):
    _nd = 2


class Dropout3d(_DropoutNd):
    _nd = 3


class AlphaDropout(Module):
    """Dropout that keeps SELU's self-normalization: dropped elements take SELU's negative
    saturation value, then an affine map restores mean 0 and variance 1 (torch's a, b)."""

    _ALPHA = 1.7580993408473766  # -(SELU scale · SELU alpha)

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p = p

    def forward(self, input: Tensor) -> Tensor:
        from lamina.frontend import random

        if not self.training or self.p == 0.0:
            return input
        if self.p == 1.0:
            return input * 0.0
        p, alpha = self.p, self._ALPHA
        a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
        keep = random.dropout_mask(input.shape, p, dtype=input.dtype).to(input.dtype)
        return input * keep * a + (keep - 1) * (alpha * a) + alpha * a * p

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Bilinear(Module):
    """y = x1ᵀ A x2 + b, weight (out, in1, in2), initialized uniform in ±1/sqrt(in1)."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device: Any = None, dtype: Any = None):
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = _empty(out_features, in1_features, in2_features, dtype=dtype)
        if bias:
            self.bias = _empty(out_features, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        bound = 1 / math.sqrt(in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


__all__ += ["AlphaDropout", "Bilinear", "Dropout1d", "Dropout2d", "Dropout3d"]
