"""Jacobi eigh and one-sided Jacobi SVD with torch's analytic gradients, and what is
built on them and on LU (pinv, matrix_rank, lstsq, matrix_power, matrix_exp,
multi_dot, vander, householder_product). See linalg_decomp.py for the approach."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, ShapeError, with_location
from lamina.frontend import linalg as _products
from lamina.frontend import movement, shape_extra, sorting
from lamina.frontend import ops as O
from lamina.frontend.linalg_factor import (  # noqa: F401
    EighResult,
    LstsqResult,
    SVDResult,
    _col,
    _const,
    _diag,
    _eager,
    _eye,
    _householder,
    _matrix,
    _mT,
    _safe,
    _same_value,
    _solve_unchecked,
    _t,
    _take,
    _take_cols,
    linalg_inv,
)
from lamina.frontend.tensor import Tensor

__all__: list[str] = []  # lm.linalg and lm.* take these from linalg_decomp

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
