"""Dense decompositions with torch.linalg's semantics, written over existing ops: LU with
partial pivoting, Cholesky, Householder QR, Jacobi eigh, one-sided Jacobi SVD, and what
is built on them (det, inv, solve, lstsq, pinv, matrix_exp, ...).

Every algorithm is unrolled in Python at trace time: step k is a handful of tensor ops
over the whole batch (a pivot is an argmax, a row swap a gather, an update a masked
outer product), so each compiles on every backend and autodiff differentiates it.
eigh and svd attach torch's analytic gradients (`custom_vjp`): differentiating through
Jacobi rotations is unstable near repeated eigenvalues.

Program size grows with n: LU and Cholesky ~15 ops per column, QR ~20, Jacobi
`sweeps * (n - 1)` rounds of ~25 ops and 2-3 batched matmuls. Sensible up to n ~ 32 for
eigh/svd (a few thousand ops), n ~ 128 for LU/Cholesky/QR; beyond that torch's LAPACK
calls are the better tool.

Singular and non-positive-definite inputs: eagerly lamina checks the factorization's
`info` (a realization, as torch's CPU kernels synchronize) and raises `LinAlgError`, a
RuntimeError, with torch's message. Under `lm.jit` the check cannot be static: the
result holds inf/NaN instead (`inv_ex`/`cholesky_ex` return `info` for a check)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lamina.errors import ArgumentError, ShapeError, with_location
from lamina.frontend import ops as O
from lamina.frontend.linalg_factor import (  # noqa: F401
    CholeskyExResult,
    EighResult,
    InvExResult,
    LstsqResult,
    LUFactorExResult,
    LUFactorResult,
    LUResult,
    OldSVDResult,
    QRResult,
    SlogdetResult,
    SolveExResult,
    SVDResult,
    TriangularSolveResult,
    _broadcast_batch,
    _eager,
    _eye,
    _lu,
    _matrix,
    _mT,
    _raise_info,
    _solve_message,
    _solve_unchecked,
    _t,
    _tri_solve,
    linalg_cholesky,
    linalg_cholesky_ex,
    linalg_det,
    linalg_inv,
    linalg_inv_ex,
    linalg_lu,
    linalg_lu_factor,
    linalg_lu_factor_ex,
    linalg_lu_solve,
    linalg_qr,
    linalg_slogdet,
    linalg_solve,
    linalg_solve_triangular,
)
from lamina.frontend.linalg_spectral import (  # noqa: F401
    dtypes_eps,
    linalg_eigh,
    linalg_eigvalsh,
    linalg_householder_product,
    linalg_lstsq,
    linalg_matrix_exp,
    linalg_matrix_power,
    linalg_matrix_rank,
    linalg_multi_dot,
    linalg_pinv,
    linalg_svd,
    linalg_svdvals,
    linalg_vander,
)
from lamina.frontend.ops import method
from lamina.frontend.tensor import Tensor

__all__ = [
    "det", "logdet", "slogdet", "inverse", "cholesky", "qr", "svd", "pinverse",
    "matrix_power", "matrix_exp", "cholesky_solve", "cholesky_inverse", "triangular_solve",
    "lu_solve",
]


# ---------------------------------------------------------------- torch's top-level spellings


@method
def det(input):
    return linalg_det(input)


@method
def logdet(input):
    """log(det): NaN for a negative determinant, -inf for a singular matrix."""
    sign, logabs = linalg_slogdet(input)
    return O.where(O.lt(sign, 0), math.nan, logabs)


@method
def slogdet(input):
    return linalg_slogdet(input)


@method
def inverse(input):
    return linalg_inv(input)


@method
def cholesky(input, upper: bool = False):
    return linalg_cholesky(input, upper=upper)


@method
def qr(input, some: bool = True):
    return linalg_qr(input, "reduced" if some else "complete")


@method
def svd(input, some: bool = True, compute_uv: bool = True):
    """torch.svd: (U, S, V) with V (not Vh); reduced unless some=False; without
    compute_uv, U and V are zero matrices of the full shapes, as torch's."""
    A = _matrix(input, "svd", square=False)
    m, n = A.shape[-2:]
    if not compute_uv:
        S = linalg_svdvals(A)
        return OldSVDResult(O.zeros((*A.shape[:-2], m, m), dtype=A.dtype), S,
                            O.zeros((*A.shape[:-2], n, n), dtype=A.dtype))
    U, S, Vh = linalg_svd(A, full_matrices=not some)
    return OldSVDResult(U, S, _mT(Vh))


@method
def pinverse(input, rcond: float = 1e-15):
    return linalg_pinv(input, rtol=rcond)


@method
def matrix_power(input, n: int):
    return linalg_matrix_power(input, n)


@method
def matrix_exp(input):
    return linalg_matrix_exp(input)


@method
def cholesky_solve(input, input2, upper: bool = False):
    """X with A X = B, A = L L^T given L (input2); input is B."""
    B, L = _t(input), _matrix(input2, "cholesky_solve")
    dt = O.result_dtype(B, L)
    B, L = B.to(dt), L.to(dt)
    if upper:
        L = _mT(L)
    L, B = _broadcast_batch(L, B, "cholesky_solve")
    Y = _tri_solve(L, B, upper=False, unit=False)
    return _tri_solve(_mT(L), Y, upper=True, unit=False)


@method
def cholesky_inverse(input, upper: bool = False):
    L = _matrix(input, "cholesky_inverse")
    return cholesky_solve(_eye(L.shape[-1], L), L, upper)


@method
def triangular_solve(input, A, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False):
    """torch.triangular_solve(b, A): (X, A clone) with op(A) X = b."""
    B, A = _t(input), _matrix(A, "triangular_solve")
    T = _mT(A) if transpose else A
    X = linalg_solve_triangular(T, B, upper=upper != transpose, unitriangular=unitriangular)
    return TriangularSolveResult(X, O.mul(A, 1))


@method
def lu_solve(input, LU_data, LU_pivots):
    return linalg_lu_solve(LU_data, LU_pivots, input)


# ---------------------------------------------------------------- more of torch.linalg


def linalg_solve_ex(A: Any, B: Any, *, left: bool = True, check_errors: bool = False) -> Any:
    """solve with the factorization's info instead of an error (check_errors=False)."""
    A = _matrix(A, "linalg.solve_ex")
    _, _, _, info = _lu(A)
    if check_errors and _eager(A):
        _raise_info(info, "linalg.solve_ex", _solve_message)
    return SolveExResult(_solve_unchecked(A, _t(B), left), info)


def linalg_cond(A: Any, p: Any = None) -> Tensor:
    """The condition number: S_max / S_min for p None, 2 (and -2: the inverse ratio);
    norm(A, p) * norm(inv(A), p) for 'fro', 'nuc', inf, -inf, 1, -1 (inf for a singular
    matrix, as torch's)."""
    from lamina.frontend.math_extra import matrix_norm

    A = _matrix(A, "linalg.cond", square=False)
    if p in (None, 2, -2):
        S = linalg_svdvals(A)
        big, small = S[..., 0], S[..., -1]
        return O.div(big, small) if p != -2 else O.div(small, big)
    if A.shape[-1] != A.shape[-2]:
        raise ShapeError(with_location(
            f"linalg.cond(ord={p}): A must be batches of square matrices, but they are "
            f"{A.shape[-2]} by {A.shape[-1]} matrices"))
    inverse, info = linalg_inv_ex(A)
    value = O.mul(matrix_norm(A, p), matrix_norm(inverse, p))
    return O.where(O.gt(info, 0), math.inf, value)


def linalg_tensorinv(A: Any, ind: int = 2) -> Tensor:
    A = _t(A)
    if ind <= 0:
        raise ArgumentError(with_location(
            f"Expected a strictly positive integer for 'ind', but got {ind}"))
    rows = int(np.prod(A.shape[:ind]))
    cols = int(np.prod(A.shape[ind:]))
    if rows != cols:
        raise ShapeError(with_location(
            "Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {cols} != {rows}"))
    inverse = linalg_inv(O.reshape(A, (rows, cols)))
    return O.reshape(inverse, (*A.shape[ind:], *A.shape[:ind]))


def linalg_tensorsolve(A: Any, B: Any, dims: Any = None) -> Tensor:
    A, B = _t(A), _t(B)
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        rest = [d for d in range(A.ndim) if d not in dims]
        A = O.permute(A, (*rest, *dims))
    out_shape = A.shape[B.ndim:]
    n = int(np.prod(out_shape))
    if B.numel() != n:
        raise ShapeError(with_location(
            "Expected self to satisfy the requirement prod(result_shape) == other.numel(), "
            f"but got {n} != {B.numel()}"))
    X = linalg_solve(O.reshape(A, (B.numel(), n)), O.reshape(B, (B.numel(),)))
    return O.reshape(X, out_shape)
