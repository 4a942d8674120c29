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
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, DTypeError, LinAlgError, ShapeError, with_location
from lamina.frontend import linalg as _products
from lamina.frontend import movement, shape_extra, sorting
from lamina.frontend import ops as O
from lamina.frontend.ops import method
from lamina.frontend.tensor import Tensor

__all__ = [
    "det", "logdet", "slogdet", "inverse", "cholesky", "qr", "svd", "pinverse",
    "matrix_power", "matrix_exp", "cholesky_solve", "cholesky_inverse", "triangular_solve",
    "lu_solve",
]


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


# ---------------------------------------------------------------- Jacobi (eigh, svd)


def _round_robin(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """n - 1 (n even) or n rounds of disjoint pairs covering every pair once."""
    N = n + (n % 2)
    players = list(range(N))
    rounds = []
    for _ in range(N - 1):
        pairs = [(players[i], players[N - 1 - i]) for i in range(N // 2)]
        pairs = [(min(p, q), max(p, q)) for p, q in pairs if max(p, q) < n]
        if pairs:
            rounds.append((np.array([p for p, _ in pairs], dtype=np.int64),
                           np.array([q for _, q in pairs], dtype=np.int64)))
        players = [players[0], players[-1], *players[1:-1]]
    return rounds


def _sweeps(n: int, dtype: dtypes.DType) -> int:
    return (6 if dtype == dtypes.float32 else 8) + (2 if n > 16 else 0)


def _rotation(P: np.ndarray, Q: np.ndarray, n: int, app: Tensor, aqq: Tensor,
              apq: Tensor) -> Tensor:
    """The (..., n, n) product of the disjoint Jacobi rotations that zero a[p, q] of the
    symmetric 2x2 blocks [[app, apq], [apq, aqq]] (Golub & Van Loan, sym.schur2)."""
    k = len(P)
    zero = O.eq(apq, 0)
    tau = O.div(O.sub(aqq, app), O.mul(2.0, _safe(apq, zero)))
    root = O.sqrt(O.add(1.0, O.square(tau)))
    t = O.div(O.where(O.ge(tau, 0), 1.0, -1.0), O.add(O.abs(tau), root))
    t = O.where(zero, 0.0, t)
    c = O.rsqrt(O.add(1.0, O.square(t)))
    s = O.mul(t, c)
    cmap = np.full(n, k)
    cmap[P], cmap[Q] = np.arange(k), np.arange(k)
    smap = np.full(n, 2 * k)
    smap[P], smap[Q] = np.arange(k), k + np.arange(k)
    one = O.ones((*c.shape[:-1], 1), dtype=c.dtype)
    cvec = _take(movement.cat([c, one], -1), cmap)
    svec = _take(movement.cat([s, O.neg(s), O.zeros_like(one)], -1), smap)
    pair = np.zeros((n, n), dtype=c.dtype.np_dtype)
    pair[P, Q] = pair[Q, P] = 1
    return O.add(shape_extra.diag_embed(cvec), O.mul(O.unsqueeze(svec, -1), _const(pair)))


def _jacobi_eigh(A: Tensor) -> tuple[Tensor, Tensor]:
    n = A.shape[-1]
    V = _eye(n, A)
    rounds = _round_robin(n)
    for _ in range(_sweeps(n, A.dtype)):
        for P, Q in rounds:
            d = _diag(A)
            flat = O.reshape(A, (*A.shape[:-2], n * n))
            J = _rotation(P, Q, n, _take(d, P), _take(d, Q), _take(flat, P * n + Q))
            A = _products.matmul(_mT(J), _products.matmul(A, J))
            V = _products.matmul(V, J)
    w, order = sorting.sort(_diag(A), -1)
    V = movement.gather(V, -1, O.broadcast_to(O.unsqueeze(order, -2), V.shape))
    return w, V


def _symmetric(A: Tensor, UPLO: str) -> Tensor:
    if UPLO not in ("L", "U"):
        raise ArgumentError(with_location(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}"))
    if UPLO == "L":
        low = movement.tril(A)
        return O.add(low, _mT(movement.tril(A, -1)))
    up = movement.triu(A)
    return O.add(up, _mT(movement.triu(A, 1)))


def _eigh_fwd(A: Tensor) -> tuple[Any, tuple]:
    w, V = _jacobi_eigh(A)
    return (w, V), (w, V)


def _eigh_bwd(res: tuple, cts: Any) -> Tensor:
    """torch's linalg_eig_backward for Hermitian input."""
    w, V = res
    gw, gV = cts
    VhgV = _products.matmul(_mT(V), gV)
    VhgV = O.mul(0.5, O.sub(VhgV, _mT(VhgV)))
    E = O.sub(O.unsqueeze(w, -2), O.unsqueeze(w, -1))
    n = w.shape[-1]
    diag = _const(np.eye(n, dtype=bool))
    inner = O.where(diag, shape_extra.diag_embed(gw), O.div(VhgV, O.where(diag, 1.0, E)))
    return _products.matmul(V, _products.matmul(inner, _mT(V)))


def _eigh_op():
    from lamina.frontend.autograd import custom_vjp

    op = custom_vjp(lambda A: _eigh_fwd(A)[0])
    op.defvjp(_eigh_fwd, _eigh_bwd)
    return op


def linalg_eigh(A: Any, UPLO: str = "L") -> Any:
    A = _matrix(A, "linalg.eigh")
    if A.shape[-1] == 0:
        return EighResult(O.zeros(A.shape[:-1], dtype=A.dtype), O.zeros_like(A))
    w, V = _eigh_op()(_same_value(_symmetric(A, UPLO), A))
    return EighResult(w, V)


def linalg_eigvalsh(A: Any, UPLO: str = "L") -> Tensor:
    return linalg_eigh(A, UPLO)[0]


def _jacobi_svd(A: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """One-sided (Hestenes) Jacobi of (..., m, n), m >= n: rotate column pairs of A
    until they are orthogonal, A V = U diag(S). Returns (A V with sorted columns, S
    descending, V)."""
    n = A.shape[-1]
    V = _eye(n, A)
    rounds = _round_robin(n)
    for _ in range(_sweeps(n, A.dtype)):
        for P, Q in rounds:
            norms = O.sum(O.square(A), -2)
            gamma = O.sum(O.mul(_take_cols(A, P), _take_cols(A, Q)), -2)
            J = _rotation(P, Q, n, _take(norms, P), _take(norms, Q), gamma)
            A = _products.matmul(A, J)
            V = _products.matmul(V, J)
    S = O.sqrt(O.sum(O.square(A), -2))
    S, order = sorting.sort(S, -1, descending=True)
    A = movement.gather(A, -1, O.broadcast_to(O.unsqueeze(order, -2), A.shape))
    V = movement.gather(V, -1, O.broadcast_to(O.unsqueeze(order, -2), V.shape))
    return A, S, V


def _svd_tall(A: Tensor, full: bool) -> tuple[Tensor, Tensor, Tensor]:
    """(U, S, Vh) of (..., m, n) with m >= n: U's columns are A V / S, made exactly
    orthonormal (and completed, for zero S or full U) by a Householder QR."""
    m, n = A.shape[-2:]
    AV, S, V = _jacobi_svd(A)
    tiny = O.eq(S, 0)
    cand = O.div(AV, O.unsqueeze(_safe(S, tiny), -2))
    Q, R = _householder(cand, complete=full)
    signs = O.where(O.lt(_diag(R[..., :n, :]), 0), -1.0, 1.0)
    if full and m > n:
        signs = movement.cat([signs, O.ones((*signs.shape[:-1], m - n), dtype=A.dtype)], -1)
    U = O.mul(Q if full else Q[..., :, :n], O.unsqueeze(signs, -2))
    return U, S, _mT(V)


def _svd_any(A: Tensor, full: bool) -> tuple[Tensor, Tensor, Tensor]:
    if A.shape[-2] >= A.shape[-1]:
        return _svd_tall(A, full)
    U, S, Vh = _svd_tall(_mT(A), full)
    return _mT(Vh), S, _mT(U)


def _svd_bwd(full: bool):
    def bwd(res: tuple, cts: Any) -> Tensor:
        """torch's svd_backward (real case), on the first k = min(m, n) vectors."""
        U, S, Vh = res
        gU, gS, gVh = cts
        m, n = U.shape[-2], Vh.shape[-1]
        k = S.shape[-1]
        if full:
            U, gU = U[..., :, :k], gU[..., :, :k]
            Vh, gVh = Vh[..., :k, :], gVh[..., :k, :]
        UhgU = _products.matmul(_mT(U), gU)
        UhgU = O.sub(UhgU, _mT(UhgU))
        VhgV = _products.matmul(Vh, _mT(gVh))
        VhgV = O.sub(VhgV, _mT(VhgV))
        S2 = O.square(S)
        diag = _const(np.eye(k, dtype=bool))
        E = O.where(diag, 1.0, O.sub(O.unsqueeze(S2, -2), O.unsqueeze(S2, -1)))
        gA = O.div(O.add(O.mul(UhgU, O.unsqueeze(S, -2)), O.mul(O.unsqueeze(S, -1), VhgV)), E)
        gA = O.add(gA, shape_extra.diag_embed(gS))
        zero = O.eq(S, 0)
        if m > n:
            gA = _products.matmul(U, gA)
            gUSinv = O.div(gU, O.unsqueeze(_safe(S, zero), -2))
            gA = O.add(gA, O.sub(gUSinv, _products.matmul(U, _products.matmul(_mT(U), gUSinv))))
            return _products.matmul(gA, Vh)
        if m < n:
            gA = _products.matmul(gA, Vh)
            SinvgVh = O.div(gVh, O.unsqueeze(_safe(S, zero), -1))
            gA = O.add(gA, O.sub(SinvgVh, _products.matmul(_products.matmul(SinvgVh, _mT(Vh)), Vh)))
            return _products.matmul(U, gA)
        return _products.matmul(U, _products.matmul(gA, Vh))
    return bwd


def _svd_op(full: bool):
    from lamina.frontend.autograd import custom_vjp

    def fwd(A: Tensor) -> tuple[Any, tuple]:
        out = _svd_any(A, full)
        return out, out

    op = custom_vjp(lambda A: _svd_any(A, full))
    op.defvjp(fwd, _svd_bwd(full))
    return op


def _svdvals_op():
    from lamina.frontend.autograd import custom_vjp

    def fwd(A: Tensor) -> tuple[Tensor, tuple]:
        U, S, Vh = _svd_any(A, False)
        return S, (U, Vh)

    def bwd(res: tuple, gS: Tensor) -> Tensor:
        U, Vh = res
        return _products.matmul(O.mul(U, O.unsqueeze(gS, -2)), Vh)

    op = custom_vjp(lambda A: _svd_any(A, False)[1])
    op.defvjp(fwd, bwd)
    return op


def linalg_svd(A: Any, full_matrices: bool = True, *, driver: Any = None) -> Any:
    A = _matrix(A, "linalg.svd", square=False)
    m, n = A.shape[-2:]
    if min(m, n) == 0:
        U, Vh = _eye(m, A), _eye(n, A)
        if not full_matrices:
            U, Vh = U[..., :, :0], Vh[..., :0, :]
        return SVDResult(U, O.zeros((*A.shape[:-2], 0), dtype=A.dtype), Vh)
    return SVDResult(*_svd_op(full_matrices)(A))


def linalg_svdvals(A: Any, *, driver: Any = None) -> Tensor:
    A = _matrix(A, "linalg.svdvals", square=False)
    if min(A.shape[-2:]) == 0:
        return O.zeros((*A.shape[:-2], 0), dtype=A.dtype)
    return _svdvals_op()(A)


# ---------------------------------------------------------------- built on SVD / LU


def _tolerance(S: Tensor, atol: Any, rtol: Any, m: int, n: int) -> Tensor:
    """torch's max(atol, rtol * S_max), rtol defaulting to eps * max(m, n) when neither
    is given (and to 0 when only atol is)."""
    smax = S[..., :1]
    if rtol is None:
        positive_atol = atol is not None and (isinstance(atol, Tensor) or atol > 0)
        rtol = 0.0 if positive_atol else dtypes_eps(S.dtype) * max(m, n)
    rtol_t = _t(rtol).to(S.dtype)
    rel = O.mul(O.unsqueeze(rtol_t, -1) if rtol_t.ndim else rtol_t, smax)
    if atol is None:
        return rel
    atol_t = _t(atol).to(S.dtype)
    return O.maximum(O.unsqueeze(atol_t, -1) if atol_t.ndim else atol_t, rel)


def dtypes_eps(dt: dtypes.DType) -> float:
    return float(np.finfo(dt.np_dtype).eps)


def linalg_pinv(A: Any, rcond: Any = None, hermitian: bool = False, *, atol: Any = None,
                rtol: Any = None) -> Tensor:
    A = _matrix(A, "linalg.pinv", square=False)
    if rcond is not None:
        rtol = rcond
    m, n = A.shape[-2:]
    if min(m, n) == 0:
        return O.zeros((*A.shape[:-2], n, m), dtype=A.dtype)
    U, S, Vh = linalg_svd(A, full_matrices=False)
    tol = _tolerance(S, atol, rtol, m, n)
    keep = O.gt(S, tol)
    Sinv = O.where(keep, O.reciprocal(_safe(S, O.logical_not(keep))), 0.0)
    return _products.matmul(O.mul(_mT(Vh), O.unsqueeze(Sinv, -2)), _mT(U))


def linalg_matrix_rank(A: Any, tol: Any = None, hermitian: bool = False, *,
                       atol: Any = None, rtol: Any = None) -> Tensor:
    A = _matrix(A, "linalg.matrix_rank", square=False)
    if tol is not None:
        atol, rtol = tol, 0.0
    m, n = A.shape[-2:]
    if min(m, n) == 0:
        return O.zeros(A.shape[:-2], dtype=dtypes.int64)
    S = linalg_svdvals(A)
    return O.sum(O.gt(S, _tolerance(S, atol, rtol, m, n)).to(dtypes.int64), -1)


def linalg_lstsq(A: Any, B: Any, rcond: Any = None, *, driver: Any = None) -> Any:
    """torch.linalg.lstsq with the CPU default driver 'gelsy': the minimum-norm least
    squares solution (through the pseudo-inverse), the rank; residuals and singular
    values are empty, as gelsy's."""
    A, B = _matrix(A, "linalg.lstsq", square=False), _t(B)
    dt = O.result_dtype(A, B)
    A, B = A.to(dt), B.to(dt)
    vector = B.ndim == A.ndim - 1
    B2 = O.unsqueeze(B, -1) if vector else B
    if B2.shape[-2] != A.shape[-2]:
        raise ShapeError(with_location(
            f"linalg.lstsq: input.size(-2) should match other.size(-2), got {A.shape[-2]} "
            f"and {B2.shape[-2]}"))
    m, n = A.shape[-2:]
    rtol = dtypes_eps(A.dtype) * max(m, n) if rcond is None else rcond
    X = _products.matmul(linalg_pinv(A, rtol=rtol), B2)
    rank = linalg_matrix_rank(A, rtol=rtol)
    empty = O.zeros((0,), dtype=A.dtype)
    return LstsqResult(O.squeeze(X, -1) if vector else X, empty, rank, empty)


def linalg_matrix_power(A: Any, n: int) -> Tensor:
    A = _matrix(A, "linalg.matrix_power") if _t(A).dtype.is_floating_point else _t(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ShapeError(with_location(
            f"linalg.matrix_power: A must be batches of square matrices, got shape "
            f"{list(A.shape)}"))
    if not isinstance(n, int | np.integer):
        raise ArgumentError(with_location(f"linalg.matrix_power: n must be an int, got {n!r}"))
    if n == 0:
        return _eye(A.shape[-1], A).to(A.dtype)
    if n < 0:
        A, n = linalg_inv(A), -n
    # binary exponentiation, as torch's
    result, z = None, A
    while n:
        if n & 1:
            result = z if result is None else _products.matmul(result, z)
        n >>= 1
        if n:
            z = _products.matmul(z, z)
    return result


# Higham (2005), "The scaling and squaring method for the matrix exponential revisited":
# the Pade [13/13] coefficients and its theta_13.
_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
           129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
           40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152
def _pade13(X: Tensor) -> Tensor:
    """The [13/13] Pade approximant of exp(X): (V - U)^-1 (V + U) with U the odd and V
    the even part of its numerator."""
    mm = _products.matmul
    eye = _eye(X.shape[-1], X)
    X2 = mm(X, X)
    X4 = mm(X2, X2)
    X6 = mm(X4, X2)

    def poly(coefs: Sequence[float], powers: Sequence[Tensor]) -> Tensor:
        total = O.mul(coefs[0], powers[0])
        for c, p in zip(coefs[1:], powers[1:], strict=True):
            total = O.add(total, O.mul(c, p))
        return total

    b = _PADE13
    U = mm(X, O.add(mm(X6, poly(b[13:8:-2], (X6, X4, X2))), poly(b[7:0:-2], (X6, X4, X2, eye))))
    V = O.add(mm(X6, poly(b[12:7:-2], (X6, X4, X2))), poly(b[6::-2], (X6, X4, X2, eye)))
    return _solve_unchecked(O.sub(V, U), O.add(V, U), True)
_JIT_SQUARINGS = 20
_EAGER_SQUARINGS = 64


def linalg_matrix_exp(A: Any) -> Tensor:
    """Scaling and squaring with the [13/13] Pade approximant (Higham 2005), in float64
    for float32 input too (the squarings amplify float32 rounding 2^s-fold): A is scaled
    by 2^-s with s = ceil(log2(|A|_1 / theta_13)), and the result squared s times. s is
    a tensor (per batch element): eagerly the number of squarings is its maximum;
    under lm.jit 20 masked squarings are unrolled. A matrix that needs more (a 1-norm
    above 2^20 * theta_13 ~ 5.6e6 under lm.jit, 2^64 * theta_13 eagerly) gives NaN,
    never a wrong number."""
    A = _matrix(A, "linalg.matrix_exp")
    if A.dtype != dtypes.float64:
        return linalg_matrix_exp(A.to(dtypes.float64)).to(A.dtype)
    n = A.shape[-1]
    if n == 0:
        return O.zeros_like(A)
    norm1 = O.amax(O.sum(O.abs(A), -2), -1)
    s = O.clamp(O.ceil(O.log2(O.div(norm1, _THETA13))), 0, _EAGER_SQUARINGS + 1)
    s = O.where(O.ne(s, s), 0.0, s)  # NaN norm: no squarings, NaN result
    X = O.mul(A, O.unsqueeze(O.unsqueeze(O.exp2(O.neg(s)), -1), -1))
    R = _pade13(X)
    steps = (min(int(np.max(s.numpy(), initial=0)), _EAGER_SQUARINGS) if _eager(A)
             else _JIT_SQUARINGS)
    for i in range(steps):
        more = O.unsqueeze(O.unsqueeze(O.gt(s, i), -1), -1)
        R = O.where(more, _products.matmul(R, R), R)
    return O.where(O.unsqueeze(O.unsqueeze(O.gt(s, steps), -1), -1), math.nan, R)


def linalg_multi_dot(tensors: Sequence[Any]) -> Tensor:
    """A chain of matrix products in the cheapest order (the classic dynamic program,
    as torch's); the first may be 1-D (a row), the last 1-D (a column)."""
    ts = [_t(x) for x in tensors]
    if len(ts) < 2:
        raise ArgumentError(with_location(
            f"multi_dot(): expected at least 2 tensors but got {len(ts)}"))
    first_vec, last_vec = ts[0].ndim == 1, ts[-1].ndim == 1
    if first_vec:
        ts[0] = O.unsqueeze(ts[0], 0)
    if last_vec:
        ts[-1] = O.unsqueeze(ts[-1], -1)
    for i, x in enumerate(ts):
        if x.ndim != 2:
            raise ShapeError(with_location(
                f"multi_dot(): tensor {i} must be 2D but got {x.ndim}D"))
    dims = [ts[0].shape[0]] + [x.shape[1] for x in ts]
    k = len(ts)
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            cost[i][j] = math.inf
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s

    def chain(i: int, j: int) -> Tensor:
        if i == j:
            return ts[i]
        return _products.mm(chain(i, split[i][j]), chain(split[i][j] + 1, j))

    out = chain(0, k - 1)
    if first_vec:
        out = O.squeeze(out, 0)
    if last_vec:
        out = O.squeeze(out, -1)
    return out


def linalg_vander(x: Any, *, N: int | None = None) -> Tensor:
    """Increasing powers of x along a new last dim: (..., n) -> (..., n, N)."""
    x = _t(x)
    if x.ndim == 0:  # (as torch: a 0-d x is one point)
        x = O.reshape(x, (1,))
    N = x.shape[-1] if N is None else N
    if N <= 1:
        raise ArgumentError(with_location("linalg.vander: N must be greater than 1."))
    xs = O.unsqueeze(x, -1)
    powers = [O.ones_like(xs), xs]
    for _ in range(N - 2):
        powers.append(O.mul(powers[-1], xs))
    return movement.cat(powers, -1)


def linalg_householder_product(A: Any, tau: Any) -> Tensor:
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T with v_i the i-th
    column of A below the diagonal and 1 on it (LAPACK orgqr)."""
    A, tau = _matrix(A, "linalg.householder_product", square=False), _t(tau)
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    rows = _const(np.arange(m))
    Q = _eye(m, A, n)
    for i in range(k - 1, -1, -1):
        v = O.where(O.eq(rows, i), 1.0, O.where(O.gt(rows, i), _col(A, i), 0.0))
        vr = O.unsqueeze(v, -1)
        ti = O.unsqueeze(O.unsqueeze(tau[..., i], -1), -1)
        Q = O.sub(Q, O.mul(ti, _products.matmul(vr, _products.matmul(_mT(vr), Q))))
    return Q


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
