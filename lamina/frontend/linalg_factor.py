"""LU with partial pivoting, triangular solves, Cholesky and Householder QR with
torch.linalg's semantics, written over existing ops (see linalg_decomp.py for the
shared approach, program sizes and error handling), and torch.return_types classes."""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, DTypeError, LinAlgError, ShapeError, with_location
from lamina.frontend import linalg as _products
from lamina.frontend import movement, shape_extra, sorting
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor

__all__: list[str] = []  # lm.linalg and lm.* take these from linalg_decomp


def _return_type(name: str, fields: Sequence[str]) -> type:
    """A torch.return_types class: a tuple that unpacks, with named fields, that lm.jit
    returns as itself."""
    return type(name, (namedtuple(name, fields),),
                {"__slots__": (), "RETURN_TYPE": True, "__module__": "lamina.return_types"})


SlogdetResult = _return_type("slogdet", ["sign", "logabsdet"])
InvExResult = _return_type("inv_ex", ["inverse", "info"])
CholeskyExResult = _return_type("cholesky_ex", ["L", "info"])
QRResult = _return_type("qr", ["Q", "R"])
EighResult = _return_type("eigh", ["eigenvalues", "eigenvectors"])
SVDResult = _return_type("svd", ["U", "S", "Vh"])
OldSVDResult = _return_type("svd", ["U", "S", "V"])
LstsqResult = _return_type("lstsq", ["solution", "residuals", "rank", "singular_values"])
LUFactorResult = _return_type("lu_factor", ["LU", "pivots"])
LUFactorExResult = _return_type("lu_factor_ex", ["LU", "pivots", "info"])
LUResult = _return_type("lu", ["P", "L", "U"])
SolveExResult = _return_type("solve_ex", ["result", "info"])
TriangularSolveResult = _return_type("triangular_solve", ["solution", "cloned_coefficient"])


# ---------------------------------------------------------------- helpers


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else O.tensor(x)


def _const(array: np.ndarray, dtype: Any = None) -> Tensor:
    return Tensor._wrap(np.asarray(array), dtype=dtype)


def _matrix(A: Any, op: str, square: bool = True) -> Tensor:
    """A as a float32/float64 batch of (square) matrices, or torch's error."""
    A = _t(A)
    if A.ndim < 2:
        raise ShapeError(with_location(
            f"{op}: The input tensor A must have at least 2 dimensions, got shape "
            f"{list(A.shape)}"))
    if square and A.shape[-1] != A.shape[-2]:
        raise ShapeError(with_location(
            f"{op}: A must be batches of square matrices, but they are {A.shape[-2]} by "
            f"{A.shape[-1]} matrices"))
    _float_check(A, op)
    return A


def _float_check(A: Tensor, op: str) -> None:
    if A.dtype not in (dtypes.float32, dtypes.float64):
        kind = ("Low precision dtypes not supported" if A.dtype.is_floating_point
                else "Expected a floating point or complex tensor as input")
        raise DTypeError(with_location(f"{op}: {kind}. Got {A.dtype.name}"))


def _mT(x: Tensor) -> Tensor:
    return O.transpose(x, -2, -1)


def _eye(n: int, like: Tensor, m: int | None = None) -> Tensor:
    eye = np.eye(n, n if m is None else m, dtype=like.dtype.np_dtype)
    return O.broadcast_to(_const(eye, like.dtype), (*like.shape[:-2], *eye.shape))


def _col(x: Tensor, k: int) -> Tensor:
    return x[..., :, k]


def _row(x: Tensor, k: int) -> Tensor:
    return x[..., k, :]


def _take(x: Tensor, index: np.ndarray) -> Tensor:
    """x[..., index] for a constant index vector."""
    idx = O.broadcast_to(_const(index.astype(np.int64)), (*x.shape[:-1], len(index)))
    return movement.gather(x, -1, idx)


def _take_cols(x: Tensor, index: np.ndarray) -> Tensor:
    idx = O.broadcast_to(_const(index.astype(np.int64)), (*x.shape[:-1], len(index)))
    return movement.gather(x, -1, idx)


def _safe(x: Tensor, bad: Tensor) -> Tensor:
    """x with 1 where `bad`: the divisor of a branch `where` does not take (its
    cotangent is 0, and 0 * inf would be NaN)."""
    return O.where(bad, 1.0, x)


def _diag(x: Tensor) -> Tensor:
    return shape_extra.diagonal(x, 0, -2, -1)


def _eager(*xs: Tensor) -> bool:
    return not any(x.is_traced for x in xs)


def _raise_info(info: Tensor, op: str, message: Any) -> None:
    """Eagerly, torch's error for the first batch element whose `info` is nonzero."""
    values = np.asarray(info.numpy()).reshape(-1)
    bad = np.flatnonzero(values)
    if bad.size:
        where = f"(Batch element {bad[0]}): " if info.ndim > 0 else ""
        raise LinAlgError(with_location(f"{op}: {where}{message(int(values[bad[0]]))}"))


def _broadcast_batch(A: Tensor, B: Tensor, op: str) -> tuple[Tensor, Tensor]:
    batch = O.broadcast_shapes(A.shape[:-2], B.shape[:-2], op=op)
    return (O.broadcast_to(A, (*batch, *A.shape[-2:])),
            O.broadcast_to(B, (*batch, *B.shape[-2:])))


# ---------------------------------------------------------------- LU


def _lu(A: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Partial-pivoted LU of (..., m, n), LAPACK getrf's packed form: (LU, pivots as
    1-based int32, the row permutation perm (A[perm] = L U), info)."""
    m, n = A.shape[-2:]
    batch = A.shape[:-2]
    rows = _const(np.arange(m))
    cols = _const(np.arange(n))
    perm = O.broadcast_to(rows, (*batch, m))
    pivots, info = [], None
    for k in range(min(m, n)):
        score = O.where(O.ge(rows, k), O.abs(_col(A, k)), -1.0)
        p = O.argmax(score, -1)  # (batch,)
        pivots.append(p)
        pk = O.unsqueeze(p, -1)
        swap = O.where(O.eq(rows, k), pk, O.where(O.eq(rows, pk), k, rows))
        A = movement.gather(A, -2, O.broadcast_to(O.unsqueeze(swap, -1), A.shape))
        perm = movement.gather(perm, -1, swap)
        pivot = A[..., k, k]
        zero = O.eq(pivot, 0)
        if info is None:
            info = O.where(zero, k + 1, 0)
        else:
            info = O.where(O.logical_and(O.eq(info, 0), zero), k + 1, info)
        below = O.gt(rows, k)
        lcol = O.where(below, O.div(_col(A, k), O.unsqueeze(_safe(pivot, zero), -1)), 0.0)
        urow = O.where(O.gt(cols, k), _row(A, k), 0.0)
        A = O.sub(A, O.mul(O.unsqueeze(lcol, -1), O.unsqueeze(urow, -2)))
        in_col = O.logical_and(O.unsqueeze(below, -1), O.eq(cols, k))
        A = O.where(in_col, O.unsqueeze(lcol, -1), A)
    if not pivots:
        return O.zeros_like(A), O.zeros((*batch, 0), dtype=dtypes.int32), perm, O.zeros(batch,
                                                                          dtype=dtypes.int32)
    piv = O.add(movement.stack(pivots, -1), 1).to(dtypes.int32)
    return A, piv, perm, info.to(dtypes.int32)


def _perm_from_pivots(pivots: Tensor, m: int) -> Tensor:
    """The row permutation (A[perm] = LU) that LAPACK's 1-based swap list describes."""
    rows = _const(np.arange(m))
    perm = O.broadcast_to(rows, (*pivots.shape[:-1], m))
    for k in range(pivots.shape[-1]):
        pk = O.unsqueeze(O.sub(pivots[..., k].to(dtypes.int64), 1), -1)
        swap = O.where(O.eq(rows, k), pk, O.where(O.eq(rows, pk), k, rows))
        perm = movement.gather(perm, -1, swap)
    return perm


def _permute_rows(B: Tensor, perm: Tensor) -> Tensor:
    return movement.gather(B, -2, O.broadcast_to(O.unsqueeze(perm, -1), B.shape))


def _tri_solve(T: Tensor, B: Tensor, upper: bool, unit: bool) -> Tensor:
    """X with T X = B for triangular T (..., n, n) and B (..., n, k), by substitution:
    each step fixes one row of X and removes it from the rows still to solve."""
    n = T.shape[-1]
    rows = O.unsqueeze(_const(np.arange(n)), -1)
    X = B
    for k in (range(n - 1, -1, -1) if upper else range(n)):
        xk = _row(X, k)
        if not unit:
            xk = O.div(xk, O.unsqueeze(T[..., k, k], -1))
        rest = O.lt(rows, k) if upper else O.gt(rows, k)
        tcol = O.where(O.squeeze(rest, -1), _col(T, k), 0.0)
        X = O.sub(X, O.mul(O.unsqueeze(tcol, -1), O.unsqueeze(xk, -2)))
        X = O.where(O.eq(rows, k), O.unsqueeze(xk, -2), X)
    return X


def _lu_solve(LU: Tensor, perm: Tensor, B: Tensor) -> Tensor:
    LU, B = _broadcast_batch(LU, B, "linalg.lu_solve")
    perm = O.broadcast_to(perm, (*B.shape[:-2], perm.shape[-1]))
    Y = _tri_solve(LU, _permute_rows(B, perm), upper=False, unit=True)
    return _tri_solve(LU, Y, upper=True, unit=False)


def _singular_message(k: int) -> str:
    return (f"The diagonal element {k} is zero, the inversion could not be completed "
            "because the input matrix is singular.")


def _solve_message(k: int) -> str:
    return (f"The solver failed because the input matrix is singular. (U[{k}, {k}] is "
            "exactly zero)")


def linalg_det(A: Any) -> Tensor:
    A = _matrix(A, "linalg.det")
    n = A.shape[-1]
    if n == 0:
        return O.ones(A.shape[:-2], dtype=A.dtype)
    LU, piv, _, _ = _lu(A)
    swaps = O.sum(O.ne(piv, _const(np.arange(1, n + 1, dtype=np.int32))).to(dtypes.int64), -1)
    parity = O.where(O.eq(O.remainder(swaps, 2), 0), 1.0, -1.0).to(A.dtype)
    return O.mul(O.prod(_diag(LU), -1), parity)


def linalg_slogdet(A: Any) -> Any:
    A = _matrix(A, "linalg.slogdet")
    n = A.shape[-1]
    if n == 0:
        return SlogdetResult(O.ones(A.shape[:-2], dtype=A.dtype),
                             O.zeros(A.shape[:-2], dtype=A.dtype))
    LU, piv, _, _ = _lu(A)
    d = _diag(LU)
    swaps = O.sum(O.ne(piv, _const(np.arange(1, n + 1, dtype=np.int32))).to(dtypes.int64), -1)
    parity = O.where(O.eq(O.remainder(swaps, 2), 0), 1.0, -1.0).to(A.dtype)
    sign = O.mul(O.prod(O.sign(d), -1), parity)
    return SlogdetResult(sign, O.sum(O.log(O.abs(d)), -1))


def linalg_inv_ex(A: Any, *, check_errors: bool = False) -> Any:
    A = _matrix(A, "linalg.inv_ex")
    LU, _, perm, info = _lu(A) if A.shape[-1] else (A, None, None, O.zeros(A.shape[:-2],
                                                                          dtype=dtypes.int32))
    if A.shape[-1] == 0:
        return InvExResult(O.zeros_like(A), info)
    if check_errors and _eager(A):
        _raise_info(info, "linalg.inv_ex", _singular_message)
    return InvExResult(_lu_solve(LU, perm, _eye(A.shape[-1], A)), info)


def linalg_inv(A: Any) -> Tensor:
    A = _matrix(A, "linalg.inv")
    inverse, info = linalg_inv_ex(A)
    if A.shape[-1] and _eager(A):
        _raise_info(info, "linalg.inv", _singular_message)
    return inverse


def _vector_rhs(A: Tensor, B: Tensor) -> bool:
    """torch.linalg.solve's rule: B is a (batch of) vector(s) when it is 1-D or has
    exactly A's batch shape plus n."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])


def linalg_solve(A: Any, B: Any, *, left: bool = True) -> Tensor:
    A = _matrix(A, "linalg.solve")
    return _solve_unchecked(A, _t(B), left, check=True)


def _solve_unchecked(A: Tensor, B: Tensor, left: bool, check: bool = False) -> Tensor:
    dt = O.result_dtype(A, B)
    A, B = A.to(dt), B.to(dt)
    vector = _vector_rhs(A, B)
    if not left:
        if vector:
            return _solve_unchecked(_mT(A), B, True, check)
        return _mT(_solve_unchecked(_mT(A), _mT(B), True, check))
    B2 = O.unsqueeze(B, -1) if vector else B
    if B2.ndim < 2 or B2.shape[-2] != A.shape[-1]:
        raise ShapeError(with_location(
            f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({A.shape[-2]}x{A.shape[-1]} and {B2.shape[-2] if B2.ndim > 1 else B2.shape[-1]}"
            f"x{B2.shape[-1]})"))
    LU, _, perm, info = _lu(A)
    if check and _eager(A):
        _raise_info(info, "linalg.solve", _solve_message)
    X = _lu_solve(LU, perm, B2)
    return O.squeeze(X, -1) if vector else X


def linalg_lu_factor_ex(A: Any, *, pivot: bool = True, check_errors: bool = False) -> Any:
    A = _matrix(A, "linalg.lu_factor_ex", square=False)
    if not pivot:
        raise ArgumentError(with_location(
            "linalg.lu_factor: LU without pivoting is not implemented on the CPU (as "
            "torch's)"))
    LU, piv, _, info = _lu(A)
    if check_errors and _eager(A):
        _raise_info(info, "linalg.lu_factor_ex",
                    lambda k: f"U[{k - 1},{k - 1}] is zero and using it on lu_solve "
                              "would result in a division by zero.")
    return LUFactorExResult(LU, piv, info)


def linalg_lu_factor(A: Any, *, pivot: bool = True) -> Any:
    LU, piv, _ = linalg_lu_factor_ex(A, pivot=pivot)
    return LUFactorResult(LU, piv)


def linalg_lu(A: Any, *, pivot: bool = True) -> Any:
    A = _matrix(A, "linalg.lu", square=False)
    LU, piv, _ = linalg_lu_factor_ex(A, pivot=pivot)
    m, n = A.shape[-2:]
    k = min(m, n)
    L = O.add(movement.tril(LU[..., :, :k], -1), _eye(m, LU, k))
    U = movement.triu(LU[..., :k, :])
    perm = _perm_from_pivots(piv, m)
    # P with A = P L U: P[perm[i], i] = 1
    P = O.eq(O.unsqueeze(perm, -2), O.unsqueeze(_const(np.arange(m)), -1)).to(A.dtype)
    return LUResult(P, L, U)


def linalg_lu_solve(LU: Any, pivots: Any, B: Any, *, left: bool = True,
                    adjoint: bool = False) -> Tensor:
    LU, B = _matrix(LU, "linalg.lu_solve"), _t(B)
    pivots = _t(pivots)
    n = LU.shape[-1]
    perm = _perm_from_pivots(pivots, n)
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return _mT(linalg_lu_solve(LU, pivots, _mT(B), left=True, adjoint=not adjoint))
    if not adjoint:
        return _lu_solve(LU, perm, B)
    # A^T X = B with A = P L U: U^T L^T P^T X = B
    LU, B = _broadcast_batch(LU, B, "linalg.lu_solve")
    Y = _tri_solve(_mT(LU), B, upper=False, unit=False)
    Z = _tri_solve(_mT(LU), Y, upper=True, unit=True)
    # X = P Z: row perm[i] of X is row i of Z
    order = sorting.argsort(O.broadcast_to(perm, (*Z.shape[:-2], n)), -1)
    return _permute_rows(Z, order)


# ---------------------------------------------------------------- triangular, Cholesky


def linalg_solve_triangular(A: Any, B: Any, *, upper: bool, left: bool = True,
                            unitriangular: bool = False) -> Tensor:
    A, B = _matrix(A, "linalg.solve_triangular"), _t(B)
    dt = O.result_dtype(A, B)
    A, B = A.to(dt), B.to(dt)
    if B.ndim < 2:
        raise ShapeError(with_location(
            f"linalg.solve_triangular: The input tensor B must have at least 2 dimensions, "
            f"got shape {list(B.shape)}"))
    if not left:
        return _mT(linalg_solve_triangular(_mT(A), _mT(B), upper=not upper,
                                           unitriangular=unitriangular))
    if B.shape[-2] != A.shape[-1]:
        raise ShapeError(with_location(
            f"linalg.solve_triangular: Incompatible shapes of A and B for the equation AX = B "
            f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})"))
    A, B = _broadcast_batch(A, B, "linalg.solve_triangular")
    return _tri_solve(A, B, upper, unitriangular)


def _cholesky(A: Tensor) -> tuple[Tensor, Tensor]:
    """Lower Cholesky factor of the lower triangle of A, and LAPACK potrf's info (the
    order of the first leading minor that is not positive definite)."""
    n = A.shape[-1]
    rows = _const(np.arange(n))
    S = A
    cols = []
    info = O.zeros(A.shape[:-2], dtype=dtypes.int32)
    for j in range(n):
        d = S[..., j, j]
        bad = O.logical_not(O.gt(d, 0))  # also NaN
        info = O.where(O.logical_and(O.eq(info, 0), bad), j + 1, info)
        ljj = O.sqrt(d)
        below = O.gt(rows, j)
        col = O.where(below, O.div(_col(S, j), O.unsqueeze(ljj, -1)), 0.0)
        col = O.where(O.eq(rows, j), O.unsqueeze(ljj, -1), col)
        cols.append(col)
        update = O.mul(O.unsqueeze(O.where(below, col, 0.0), -1),
                       O.unsqueeze(O.where(below, col, 0.0), -2))
        S = O.sub(S, update)
    return movement.stack(cols, -1), info


def _same_value(value: Tensor, grad_through: Tensor) -> Tensor:
    """`value`, with the gradient of `grad_through` (which equals it where it matters):
    how torch's rules see a matrix of which the kernel reads only one triangle."""
    return O.add(O.stop_gradient(value), O.sub(grad_through, O.stop_gradient(grad_through)))


def _pd_message(k: int) -> str:
    return ("The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {k} is not positive-definite).")


def linalg_cholesky_ex(A: Any, *, upper: bool = False, check_errors: bool = False) -> Any:
    A = _matrix(A, "linalg.cholesky_ex")
    # the lower triangle is read; the gradient is torch's symmetric one
    L, info = _cholesky(_same_value(A, O.mul(0.5, O.add(A, _mT(A)))))
    if check_errors and _eager(A):
        _raise_info(info, "linalg.cholesky_ex", _pd_message)
    return CholeskyExResult(_mT(L) if upper else L, info)


def linalg_cholesky(A: Any, *, upper: bool = False) -> Tensor:
    A = _matrix(A, "linalg.cholesky")
    L, info = linalg_cholesky_ex(A, upper=upper)
    if _eager(A):
        _raise_info(info, "linalg.cholesky", _pd_message)
        return L
    # traced: no error possible; a matrix that is not positive definite gives NaN
    return O.where(O.unsqueeze(O.unsqueeze(O.gt(info, 0), -1), -1), math.nan, L)


# ---------------------------------------------------------------- QR


def _householder(A: Tensor, complete: bool) -> tuple[Tensor, Tensor]:
    """Householder QR of (..., m, n) with LAPACK geqrf's signs (R[k, k] = -sign(a) *
    norm, a reflection skipped where the column below the diagonal is already 0)."""
    m, n = A.shape[-2:]
    rows = _const(np.arange(m))
    R = A
    Q = _eye(m, A)
    for k in range(min(m - 1, n)):  # (a last row has nothing below its diagonal)
        x = O.where(O.ge(rows, k), _col(R, k), 0.0)
        alpha = x[..., k]
        below = O.where(O.gt(rows, k), x, 0.0)
        sub = O.sum(O.square(below), -1)
        skip = O.eq(sub, 0)
        norm = O.sqrt(O.add(O.square(alpha), _safe(sub, skip)))
        beta = O.neg(O.where(O.ge(alpha, 0), norm, O.neg(norm)))
        # v = x - beta e_k, normalized: H = I - 2 v v^T
        v = O.where(O.eq(rows, k), O.unsqueeze(O.sub(alpha, beta), -1), below)
        vnorm2 = O.sum(O.square(v), -1)
        v = O.where(O.unsqueeze(skip, -1), 0.0,
                    O.div(v, O.unsqueeze(O.sqrt(_safe(vnorm2, skip)), -1)))
        vr = O.unsqueeze(v, -1)
        R = O.sub(R, O.mul(2.0, _products.matmul(vr, _products.matmul(_mT(vr), R))))
        Q = O.sub(Q, O.mul(2.0, _products.matmul(_products.matmul(Q, vr), _mT(vr))))
    return Q, R


def linalg_qr(A: Any, mode: str = "reduced") -> Any:
    A = _matrix(A, "linalg.qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(with_location(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' "
            "(default), 'r', or 'complete'"))
    m, n = A.shape[-2:]
    k = min(m, n)
    Q, R = _householder(A, mode == "complete")
    R = movement.triu(R)
    if mode == "r":
        return QRResult(O.zeros((0,), dtype=A.dtype), R[..., :k, :])
    if mode == "complete":
        return QRResult(Q, R)
    return QRResult(Q[..., :, :k], R[..., :k, :])
