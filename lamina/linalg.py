"""`lm.linalg`: the functions of `torch.linalg` lamina has, with torch's signatures
(the implementations live in `lamina.frontend.math_extra`, `shape_extra` and
`linalg_decomp`)."""

from __future__ import annotations

from typing import Any

from lamina.errors import LinAlgError
from lamina.frontend import linalg_decomp as D
from lamina.frontend import math_extra, shape_extra
from lamina.frontend.tensor import Tensor

__all__ = [
    "LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh", "eigvalsh",
    "householder_product", "inv", "inv_ex", "lstsq", "lu", "lu_factor", "lu_factor_ex",
    "lu_solve", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank",
    "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd",
    "solve_ex", "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm",
]

det = D.linalg_det
slogdet = D.linalg_slogdet
inv = D.linalg_inv
inv_ex = D.linalg_inv_ex
solve = D.linalg_solve
cholesky = D.linalg_cholesky
cholesky_ex = D.linalg_cholesky_ex
qr = D.linalg_qr
eigh = D.linalg_eigh
eigvalsh = D.linalg_eigvalsh
svd = D.linalg_svd
svdvals = D.linalg_svdvals
lstsq = D.linalg_lstsq
pinv = D.linalg_pinv
matrix_rank = D.linalg_matrix_rank
matrix_power = D.linalg_matrix_power
matrix_exp = D.linalg_matrix_exp
solve_triangular = D.linalg_solve_triangular
lu_factor = D.linalg_lu_factor
lu_factor_ex = D.linalg_lu_factor_ex
lu = D.linalg_lu
lu_solve = D.linalg_lu_solve
multi_dot = D.linalg_multi_dot
vander = D.linalg_vander
householder_product = D.linalg_householder_product
solve_ex = D.linalg_solve_ex
cond = D.linalg_cond
tensorinv = D.linalg_tensorinv
tensorsolve = D.linalg_tensorsolve


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


def matmul(input: Tensor, other: Tensor) -> Tensor:
    from lamina.frontend.linalg import matmul as mm

    return mm(input, other)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """sum(x * y) along dim (real tensors: no conjugation)."""
    from lamina.frontend import ops

    return ops.sum(ops.mul(x, y), dim)


def __dir__() -> list[str]:
    return sorted(__all__)
