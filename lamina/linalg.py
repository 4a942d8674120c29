"""`lm.linalg`: the functions of `torch.linalg` lamina has, with torch's signatures
(the implementations live in `lamina.frontend.math_extra` and `shape_extra`)."""

from __future__ import annotations

from typing import Any

from lamina.frontend import math_extra, shape_extra
from lamina.frontend.tensor import Tensor

__all__ = ["cross", "diagonal", "matrix_norm", "norm", "vector_norm"]


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    return math_extra.vector_norm(x, ord, dim, keepdim, dtype=dtype)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    return math_extra.matrix_norm(A, ord, dim, keepdim, dtype=dtype)


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:
    return math_extra.linalg_norm(A, ord, dim, keepdim, dtype=dtype)


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    return math_extra.cross_along(math_extra._t(input), math_extra._t(other), dim,
                                  "linalg.cross")


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    return shape_extra.diagonal(A, offset, dim1, dim2)


def __dir__() -> list[str]:
    return sorted(__all__)
