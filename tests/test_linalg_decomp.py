"""lm.linalg's decompositions and what is built on them, against torch.linalg: values
(gauge-free where the result is unique only up to signs), dtypes and shapes over
batched float32/float64 inputs; gradients against torch.autograd; lm.jit on the C and
Triton backends; singular and non-positive-definite inputs (eager errors, jit NaN/inf).

Eager calls run on the interpreter here (each eager graph would otherwise be a C
compile); `test_compiled` runs a few on C and Triton."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm
from lamina.errors import DTypeError, LinAlgError, ShapeError

rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _interp(monkeypatch):
    monkeypatch.setenv("LAMINA_BACKEND", "interp")


def randn(*shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def spd(*shape, dtype=np.float64):
    a = randn(*shape)
    return (a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def tri(*shape, upper=True):
    a = randn(*shape)
    return (np.triu(a) if upper else np.tril(a)) + 3 * np.eye(shape[-1])


def _abs(f):
    """Results unique up to the sign of each vector: compared by absolute value."""
    def g(*xs):
        return tuple(o.abs() if o.ndim >= 2 else o for o in f(*xs))
    return g


def _svd_fixed(mod):
    return _abs(lambda a: mod.linalg.svd(a, full_matrices=False))


# (name, lamina/torch function (given the module), inputs)
CASES = [
    ("det", lambda m: m.linalg.det, lambda: [randn(2, 4, 4)]),
    ("det0", lambda m: m.linalg.det, lambda: [randn(3, 0, 0)]),
    ("slogdet", lambda m: m.linalg.slogdet, lambda: [randn(2, 3, 3)]),
    ("logdet", lambda m: m.logdet, lambda: [spd(2, 3, 3)]),
    ("inv", lambda m: m.linalg.inv, lambda: [randn(2, 1, 4, 4)]),
    ("inverse", lambda m: m.inverse, lambda: [randn(4, 4)]),
    ("solve", lambda m: m.linalg.solve, lambda: [randn(2, 4, 4), randn(2, 4, 3)]),
    ("solve-vector", lambda m: m.linalg.solve, lambda: [randn(2, 4, 4), randn(2, 4)]),
    ("solve-bcast", lambda m: m.linalg.solve, lambda: [randn(4, 4), randn(3, 4, 2)]),
    ("solve-right", lambda m: lambda a, b: m.linalg.solve(a, b, left=False),
     lambda: [randn(3, 3), randn(2, 3)]),
    ("cholesky", lambda m: m.linalg.cholesky, lambda: [spd(2, 4, 4)]),
    ("cholesky-upper", lambda m: lambda a: m.linalg.cholesky(a, upper=True),
     lambda: [spd(3, 3)]),
    ("cholesky_solve", lambda m: m.cholesky_solve,
     lambda: [randn(2, 3, 2), np.linalg.cholesky(spd(2, 3, 3))]),
    ("cholesky_inverse", lambda m: m.cholesky_inverse, lambda: [np.linalg.cholesky(spd(3, 3))]),
    ("qr", lambda m: m.linalg.qr, lambda: [randn(2, 5, 3)]),
    ("qr-wide", lambda m: m.linalg.qr, lambda: [randn(3, 5)]),
    ("qr-complete", lambda m: lambda a: m.linalg.qr(a, "complete"), lambda: [randn(4, 2)]),
    ("qr-r", lambda m: lambda a: m.linalg.qr(a, "r")[1], lambda: [randn(4, 3)]),
    ("eigh", lambda m: _abs(m.linalg.eigh), lambda: [spd(2, 4, 4)]),
    ("eigh-U", lambda m: lambda a: m.linalg.eigvalsh(a, UPLO="U"), lambda: [randn(5, 5)]),
    ("svd", _svd_fixed, lambda: [randn(2, 5, 3)]),
    ("svd-wide", _svd_fixed, lambda: [randn(3, 6)]),
    ("svdvals", lambda m: m.linalg.svdvals, lambda: [randn(2, 4, 6)]),
    ("svdvals-rank1", lambda m: m.linalg.svdvals,
     lambda: [np.outer(randn(4), randn(3))]),
    ("pinv", lambda m: m.linalg.pinv, lambda: [randn(2, 5, 3)]),
    ("pinverse", lambda m: m.pinverse, lambda: [randn(3, 4)]),
    ("matrix_rank", lambda m: m.linalg.matrix_rank,
     lambda: [np.stack([np.outer(randn(4), randn(4)), randn(4, 4)])]),
    ("lstsq", lambda m: lambda a, b: m.linalg.lstsq(a, b).solution,
     lambda: [randn(2, 6, 3), randn(2, 6, 2)]),
    ("matrix_power", lambda m: lambda a: m.linalg.matrix_power(a, 5), lambda: [randn(2, 3, 3)]),
    ("matrix_power-neg", lambda m: lambda a: m.matrix_power(a, -2), lambda: [randn(3, 3)]),
    ("matrix_exp", lambda m: m.linalg.matrix_exp, lambda: [4 * randn(2, 4, 4)]),
    ("matrix_exp-small", lambda m: m.matrix_exp, lambda: [1e-3 * randn(3, 3)]),
    ("solve_triangular", lambda m: lambda a, b: m.linalg.solve_triangular(a, b, upper=True),
     lambda: [tri(2, 4, 4), randn(2, 4, 2)]),
    ("solve_triangular-left-unit", lambda m: lambda a, b: m.linalg.solve_triangular(
        a, b, upper=False, left=False, unitriangular=True),
     lambda: [tri(3, 3, upper=False), randn(2, 3)]),
    ("triangular_solve", lambda m: lambda b, a: m.triangular_solve(b, a, transpose=True)[0],
     lambda: [randn(3, 2), tri(3, 3)]),
    ("lu_factor", lambda m: m.linalg.lu_factor, lambda: [randn(2, 4, 4)]),
    ("lu-tall", lambda m: m.linalg.lu, lambda: [randn(2, 5, 3)]),
    ("lu-wide", lambda m: m.linalg.lu, lambda: [randn(3, 5)]),
    ("multi_dot", lambda m: lambda a, b, c: m.linalg.multi_dot([a, b, c]),
     lambda: [randn(3), randn(3, 5), randn(5, 2)]),
    ("vander", lambda m: lambda x: m.linalg.vander(x, N=4), lambda: [randn(2, 3)]),
    ("householder_product", lambda m: m.linalg.householder_product,
     lambda: [randn(5, 3), randn(2)]),
    ("matrix_norm-nuc", lambda m: lambda a: m.linalg.matrix_norm(a, "nuc"),
     lambda: [randn(2, 3, 4)]),
    ("matrix_norm-2", lambda m: lambda a: m.linalg.matrix_norm(a, 2, dim=(0, 2), keepdim=True),
     lambda: [randn(3, 2, 4)]),
    ("norm-(-2)", lambda m: lambda a: m.linalg.norm(a, -2), lambda: [randn(4, 3)]),
]


# the fast suite: one case per algorithm (LU, Cholesky, QR, Jacobi eigh and SVD, Pade),
# float64; the rest, float32 and the Jacobi gradients run in `make test-slow`
FAST = {"det", "slogdet", "inv", "solve-vector", "cholesky", "qr", "eigh", "svd",
        "matrix_exp", "lu-tall", "solve_triangular", "multi_dot", "vander",
        "householder_product", "matrix_norm-nuc"}
FAST_GRADS = {"det", "solve", "cholesky", "qr", "svd", "matrix_exp"}


def _params(cases, fast, dtypes=(None,)):
    return [pytest.param(*c, *([d] if d is not None else []), id=c[0] + (f"-{d.__name__}" if d
                                                                         else ""),
                         marks=() if c[0] in fast and d in (None, np.float64) else
                         pytest.mark.slow)
            for c in cases for d in dtypes]


def _flat(out):
    return list(out) if isinstance(out, tuple | list) else [out]


@pytest.mark.parametrize("name,fn,make,dtype", _params(CASES, FAST, (np.float64, np.float32)))
def test_values(name, fn, make, dtype):
    args = [a.astype(dtype) for a in make()]
    want = _flat(fn(torch)(*(torch.tensor(a) for a in args)))
    got = _flat(fn(lm)(*(lm.tensor(a) for a in args)))
    assert len(got) == len(want)
    tol = 1e-10 if dtype == np.float64 else 2e-4
    for g, w in zip(got, want, strict=True):
        w = w.detach().numpy()
        g = g.numpy()
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def test_lu_solve_variants():
    A, B = randn(2, 4, 4), randn(2, 4, 3)
    LU, piv = torch.linalg.lu_factor(torch.tensor(A))
    for left in (True, False):
        for adjoint in (True, False):
            b = B if left else np.swapaxes(B, -1, -2)
            want = torch.linalg.lu_solve(LU, piv, torch.tensor(b), left=left, adjoint=adjoint)
            got = lm.linalg.lu_solve(lm.tensor(LU.numpy()), lm.tensor(piv.numpy()), lm.tensor(b),
                                     left=left, adjoint=adjoint)
            np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-10)
    got = lm.lu_solve(lm.tensor(B), lm.tensor(LU.numpy()), lm.tensor(piv.numpy()))
    np.testing.assert_allclose(got.numpy(), torch.lu_solve(torch.tensor(B), LU, piv).numpy(),
                               atol=1e-10)


@pytest.mark.slow
def test_svd_reconstructs_and_old_spelling():
    """U S Vh = A with orthonormal U and V (full and reduced), rank-deficient included;
    torch.svd's (U, S, V) with V, and compute_uv=False's zero matrices."""
    A = np.concatenate([randn(2, 5, 2) @ randn(2, 2, 3), randn(2, 5, 3)], 0)
    for full in (True, False):
        U, S, Vh = (t.numpy() for t in lm.linalg.svd(lm.tensor(A), full_matrices=full))
        k = S.shape[-1]
        np.testing.assert_allclose((U[..., :k] * S[..., None, :]) @ Vh[..., :k, :], A,
                                   atol=1e-12)
        eye = np.eye(U.shape[-1])
        np.testing.assert_allclose(np.swapaxes(U, -1, -2) @ U, np.broadcast_to(eye, U.shape[:-2]
                                                                               + eye.shape),
                                   atol=1e-12)
    np.testing.assert_allclose(S, torch.linalg.svdvals(torch.tensor(A)).numpy(), atol=1e-12)
    U, S, V = lm.svd(lm.tensor(A[0]))
    np.testing.assert_allclose((U.numpy() * S.numpy()) @ V.numpy().T, A[0], atol=1e-12)
    U0, _, V0 = lm.svd(lm.tensor(A[0]), compute_uv=False)
    assert U0.shape == (5, 5) and V0.shape == (3, 3) and not U0.numpy().any()


@pytest.mark.slow
def test_ill_conditioned_accuracy():
    """One-sided Jacobi keeps small singular values to eps * |A| (~1e-16 absolute; eigh
    of A^T A would lose them to ~1e-8): singular values 1 .. 1e-12."""
    U, _ = np.linalg.qr(randn(6, 6))
    V, _ = np.linalg.qr(randn(6, 6))
    s = np.logspace(0, -12, 6)
    A = (U * s) @ V.T
    got = lm.linalg.svdvals(lm.tensor(A)).numpy()
    np.testing.assert_allclose(got, s, rtol=1e-6, atol=1e-15)
    w = lm.linalg.eigvalsh(lm.tensor((U * s) @ U.T)).numpy()
    np.testing.assert_allclose(np.sort(w), np.sort(s), rtol=1e-3, atol=1e-15)


GRAD_CASES = [
    ("det", lambda m: m.linalg.det, lambda: [randn(2, 3, 3)]),
    ("slogdet", lambda m: lambda a: m.linalg.slogdet(a)[1], lambda: [randn(3, 3)]),
    ("inv", lambda m: m.linalg.inv, lambda: [randn(2, 3, 3)]),
    ("solve", lambda m: m.linalg.solve, lambda: [randn(3, 3), randn(3, 2)]),
    ("cholesky", lambda m: m.linalg.cholesky, lambda: [spd(2, 3, 3)]),
    ("qr", lambda m: m.linalg.qr, lambda: [randn(4, 3)]),
    ("eigh", lambda m: _abs(m.linalg.eigh), lambda: [spd(3, 3)]),
    ("svd", _svd_fixed, lambda: [randn(4, 3)]),
    ("svd-wide", _svd_fixed, lambda: [randn(2, 4)]),
    ("svdvals", lambda m: m.linalg.svdvals, lambda: [randn(2, 3, 4)]),
    ("pinv", lambda m: m.linalg.pinv, lambda: [randn(4, 3)]),
    ("matrix_exp", lambda m: m.linalg.matrix_exp, lambda: [randn(3, 3)]),
    ("solve_triangular", lambda m: lambda a, b: m.linalg.solve_triangular(a, b, upper=False),
     lambda: [tri(3, 3, upper=False), randn(3, 2)]),
    ("matrix_norm-nuc", lambda m: lambda a: m.linalg.matrix_norm(a, "nuc"),
     lambda: [randn(3, 4)]),
]


@pytest.mark.parametrize("name,fn,make", _params(GRAD_CASES, FAST_GRADS))
def test_gradients(name, fn, make):
    """Eager backward of sum(out * weight) against torch.autograd (float64)."""
    args = make()
    lt = [lm.tensor(a, requires_grad=True) for a in args]
    tt = [torch.tensor(a, requires_grad=True) for a in args]
    tout, lout = _flat(fn(torch)(*tt)), _flat(fn(lm)(*lt))
    weights = [rng.uniform(0.5, 1.5, tuple(o.shape)) for o in tout]
    sum((o * torch.tensor(w)).sum() for o, w in zip(tout, weights, strict=True)).backward()
    sum((o * lm.tensor(w)).sum() for o, w in zip(lout, weights, strict=True)).backward()
    for a, b in zip(lt, tt, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.slow
def test_gradient_finite_differences():
    """det's and eigvalsh's gradients against central differences."""
    A = randn(3, 3)
    for f in (lm.linalg.det, lambda a: (lm.linalg.eigvalsh(a + a.mT) ** 2).sum()):
        g = lm.jit(lm.grad(lambda a, f=f: f(a).sum()), backend="interp")(A).numpy()
        num = np.zeros_like(A)
        for i in np.ndindex(A.shape):
            e = np.zeros_like(A)
            e[i] = 1e-6
            num[i] = (f(lm.tensor(A + e)).sum().item() - f(lm.tensor(A - e)).sum().item()) / 2e-6
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-7)


def _compiled_program(a, b, s):
    _, r = lm.linalg.qr(a)
    return lm.linalg.det(a), lm.linalg.solve(a, b), lm.linalg.cholesky(s), r.abs()


def _compiled_jacobi(a, b, s):
    return lm.linalg.eigvalsh(s), lm.linalg.svdvals(a), lm.linalg.matrix_exp(a)


@pytest.mark.parametrize("program,backend", [
    (_compiled_program, "c"),
    pytest.param(_compiled_program, "triton", marks=pytest.mark.slow),
    pytest.param(_compiled_jacobi, "c", marks=pytest.mark.slow),
    pytest.param(_compiled_jacobi, "triton", marks=pytest.mark.slow)])
def test_compiled(program, backend):
    """Decompositions under lm.jit on the compiled backends (batched float32)."""
    A, B, S = randn(2, 3, 3, dtype=np.float32), randn(2, 3, 2, dtype=np.float32), \
        spd(2, 3, 3, dtype=np.float32)
    got = lm.jit(program, backend=backend)(A, B, S)
    ta, tb, ts = torch.tensor(A), torch.tensor(B), torch.tensor(S)
    if program is _compiled_program:
        want = (torch.linalg.det(ta), torch.linalg.solve(ta, tb), torch.linalg.cholesky(ts),
                torch.linalg.qr(ta)[1].abs())
    else:
        want = (torch.linalg.eigvalsh(ts), torch.linalg.svdvals(ta), torch.linalg.matrix_exp(ta))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), w.numpy(), rtol=2e-4, atol=2e-4)


# ---------------------------------------------------------------- errors


def test_singular_and_not_pd_errors():
    sing = np.array([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.0], [0.0, 1.0]]])
    with pytest.raises(LinAlgError, match=r"linalg.inv: \(Batch element 0\): The diagonal "
                                          r"element 2 is zero"):
        lm.linalg.inv(lm.tensor(sing))
    with pytest.raises(RuntimeError, match="singular"):
        lm.linalg.solve(lm.tensor(sing[0]), lm.tensor(np.ones(2)))
    with pytest.raises(RuntimeError, match="the leading minor of order 2 is not positive"):
        lm.linalg.cholesky(lm.tensor(sing[0]))
    with pytest.raises(torch.linalg.LinAlgError, match="leading minor of order 2"):
        torch.linalg.cholesky(torch.tensor(sing[0]))
    inverse, info = lm.linalg.inv_ex(lm.tensor(sing))
    assert info.numpy().tolist() == torch.linalg.inv_ex(torch.tensor(sing)).info.tolist()
    L, info = lm.linalg.cholesky_ex(lm.tensor(sing))
    assert info.numpy().tolist() == torch.linalg.cholesky_ex(torch.tensor(sing)).info.tolist()
    assert lm.linalg.det(lm.tensor(sing)).numpy().tolist() == [0.0, 1.0]
    sign, logabs = lm.linalg.slogdet(lm.tensor(sing))
    assert sign.numpy().tolist() == [0.0, 1.0] and logabs.numpy()[0] == -np.inf
    assert np.isnan(lm.logdet(lm.tensor(-np.eye(3))).item())


def test_jit_singular_gives_inf_or_nan():
    """Under lm.jit the check cannot be static: no error, non-finite values instead."""
    sing = np.array([[1.0, 2.0], [2.0, 4.0]])
    inv = lm.jit(lm.linalg.inv, backend="interp")(sing)
    assert not np.isfinite(np.asarray(inv)).all()
    chol = lm.jit(lm.linalg.cholesky, backend="interp")(sing)
    assert np.isnan(np.asarray(chol)).any()


def test_argument_errors():
    with pytest.raises(ShapeError, match="A must be batches of square matrices, but they are "
                                         "2 by 3 matrices"):
        lm.linalg.inv(lm.tensor(randn(2, 3)))
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        lm.linalg.det(lm.tensor(randn(3)))
    with pytest.raises(DTypeError, match="Expected a floating point"):
        lm.linalg.det(lm.tensor(np.eye(2, dtype=np.int64)))
    with pytest.raises(RuntimeError):
        torch.linalg.det(torch.eye(2, dtype=torch.int64))
    with pytest.raises(RuntimeError, match="unrecognized mode"):
        lm.linalg.qr(lm.tensor(randn(2, 2)), mode="bad")
    assert issubclass(lm.linalg.LinAlgError, RuntimeError)


@pytest.mark.slow
@pytest.mark.parametrize("n", [16, 32])
def test_program_size(n):
    """Bigger matrices stay correct under lm.jit on C (LU, QR, Cholesky, eigh, svd)."""
    import time

    A, S = randn(n, n), spd(n, n)
    start = time.perf_counter()
    got = lm.jit(lambda a, s: (lm.linalg.det(a), lm.linalg.qr(a)[1].abs(), lm.linalg.cholesky(s),
                               lm.linalg.eigvalsh(s), lm.linalg.svdvals(a)), backend="c")(A, S)
    print(f"n={n}: compile and run {time.perf_counter() - start:.1f} s")
    ta, ts = torch.tensor(A), torch.tensor(S)
    want = (torch.linalg.det(ta), torch.linalg.qr(ta)[1].abs(), torch.linalg.cholesky(ts),
            torch.linalg.eigvalsh(ts), torch.linalg.svdvals(ta))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), w.numpy(), rtol=1e-9, atol=1e-9)
