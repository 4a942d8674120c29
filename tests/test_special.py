"""Special functions (lm.lgamma, lm.digamma, lm.polygamma, lm.erfc, lm.erfinv, lm.i0,
lm.mvlgamma and lm.special.*) against torch over grids that cross the poles, the
tails and the branch switches, in float64 and float32; edge values (poles, +-0, +-inf,
NaN) as torch's; gradients against torch.autograd; lm.jit on C and Triton.

Where torch's own float64 kernel is less accurate than lamina's (trigamma, whose
reflection uses an unreduced sin(pi x)), the reference is mpmath."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lamina as lm

rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _interp(monkeypatch):
    monkeypatch.setenv("LAMINA_BACKEND", "interp")


EDGES = [0.0, -0.0, -1.0, -2.0, -3.5, 1.0, 2.0, 0.5, 1e-8, -1e-8, 3.3e-5, 1e5, 170.0, 200.0,
         math.inf, -math.inf, math.nan]
X = np.concatenate([np.linspace(-30, 30, 241), EDGES])
Y = np.concatenate([np.linspace(-1, 1, 201), [1 - 1e-12, -1 + 1e-15, 1e-20, 0.9999999, 2.0,
                                              -1.5, math.nan, 1.0, -1.0]])
P = np.concatenate([np.linspace(0, 1, 51), [1e-300, 1e-20, 1e-100, 1 - 1e-12, -0.5, 1.5]])
POSITIVE = np.linspace(1.01, 30, 40)

CASES = [  # name, lamina fn, torch fn, inputs, float64 rtol
    ("lgamma", lm.lgamma, torch.lgamma, X, 1e-12),
    ("special.gammaln", lm.special.gammaln, torch.special.gammaln, X, 1e-12),
    ("digamma", lm.digamma, torch.digamma, X, 1e-12),
    ("polygamma2", lambda t: lm.polygamma(2, t), lambda t: torch.polygamma(2, t), X, 1e-11),
    ("polygamma3", lambda t: t.polygamma(3), lambda t: t.polygamma(3), X, 1e-11),
    ("erfc", lm.erfc, torch.erfc, X, 1e-13),
    ("special.erfcx", lm.special.erfcx, torch.special.erfcx, X, 1e-13),
    ("erfinv", lm.erfinv, torch.erfinv, Y, 1e-13),
    ("special.ndtri", lm.special.ndtri, torch.special.ndtri, P, 1e-13),
    ("special.ndtr", lm.special.ndtr, torch.special.ndtr, X, 1e-13),
    ("special.log_ndtr", lm.special.log_ndtr, torch.special.log_ndtr, X, 1e-13),
    ("i0", lm.i0, torch.i0, X, 1e-13),
    ("special.i0e", lm.special.i0e, torch.special.i0e, X, 1e-13),
    ("special.i1", lm.special.i1, torch.special.i1, X, 1e-13),
    ("special.i1e", lm.special.i1e, torch.special.i1e, X, 1e-13),
    ("special.entr", lm.special.entr, torch.special.entr, X, 1e-14),
    ("special.spherical_bessel_j0", lm.special.spherical_bessel_j0,
     torch.special.spherical_bessel_j0, X, 1e-13),
    ("mvlgamma", lambda t: lm.mvlgamma(t, 3), lambda t: torch.mvlgamma(t, 3), POSITIVE, 1e-12),
    ("special.multigammaln", lambda t: lm.special.multigammaln(t, 2),
     lambda t: torch.special.multigammaln(t, 2), POSITIVE, 1e-12),
    ("special.xlog1py", lambda t: lm.special.xlog1py(t, t * 0.5 - 0.2),
     lambda t: torch.special.xlog1py(t, t * 0.5 - 0.2), X, 1e-13),
]


FAST = {"lgamma", "digamma", "polygamma2", "erfc", "erfinv", "special.ndtri", "i0",
        "special.i1e", "special.log_ndtr"}


@pytest.mark.parametrize("dtype", [np.float64, pytest.param(np.float32, marks=pytest.mark.slow)])
@pytest.mark.parametrize("name,lf,tf,x,rtol", [
    pytest.param(*c, id=c[0], marks=() if c[0] in FAST else pytest.mark.slow) for c in CASES])
def test_values(name, lf, tf, x, rtol, dtype):
    x = x.astype(dtype)
    got = lf(lm.tensor(x))
    want = tf(torch.tensor(x)).numpy()
    assert got.dtype == getattr(lm, want.dtype.name) and got.shape == want.shape
    if dtype == np.float32:  # torch's float32 kernels vs lamina's: compare with float64 truth
        want = tf(torch.tensor(x.astype(np.float64))).numpy()
        np.testing.assert_allclose(got.numpy(), want.astype(np.float32), rtol=2e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(got.numpy(), want, rtol=rtol, atol=1e-14)


def test_trigamma_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    x = np.array([-29.9, -3.5, -0.5, 0.1, 0.9, 1.1, 1.3, 5.0, 100.0])
    want = np.array([float(mpmath.psi(1, v)) for v in x])
    np.testing.assert_allclose(lm.polygamma(1, lm.tensor(x)).numpy(), want, rtol=1e-13)
    # torch's own trigamma is only ~5e-10 accurate there
    np.testing.assert_allclose(torch.polygamma(1, torch.tensor(x)).numpy(), want, rtol=1e-8)


def test_pole_conventions():
    """torch's values at the poles (lamina returns inf at trigamma's poles, where torch's
    unreduced sin(pi x) gives a huge finite number; at 0 both give inf)."""
    x = torch.tensor([0.0, -0.0, -1.0, -2.0, math.inf, -math.inf])
    for lf, tf in ((lm.lgamma, torch.lgamma), (lm.digamma, torch.digamma),
                   (lambda t: lm.polygamma(2, t), lambda t: torch.polygamma(2, t)),
                   (lambda t: lm.polygamma(3, t), lambda t: torch.polygamma(3, t))):
        np.testing.assert_array_equal(lf(lm.tensor(x.numpy())).numpy(), tf(x).numpy())
    assert lm.polygamma(1, lm.tensor([0.0, -1.0])).numpy().tolist() == [math.inf, math.inf]


def test_integer_inputs_promote():
    x = np.arange(1, 5)
    assert lm.lgamma(lm.tensor(x)).dtype == lm.float32
    np.testing.assert_allclose(lm.digamma(lm.tensor(x)).numpy(),
                               torch.digamma(torch.tensor(x)).numpy(), rtol=1e-6)


GRADS = [
    ("lgamma", lm.lgamma, torch.lgamma, rng.uniform(-5, 10, 12)),
    ("digamma", lm.digamma, torch.digamma, rng.uniform(0.2, 10, 12)),
    ("polygamma1", lambda t: lm.polygamma(1, t), lambda t: torch.polygamma(1, t),
     rng.uniform(0.2, 10, 12)),
    ("erfc", lm.erfc, torch.erfc, rng.uniform(-4, 4, 12)),
    ("erfinv", lm.erfinv, torch.erfinv, rng.uniform(-0.99, 0.99, 12)),
    ("i0", lm.i0, torch.i0, rng.uniform(-25, 25, 12)),
    ("i0e", lm.special.i0e, torch.special.i0e, rng.uniform(-25, 25, 12)),
    ("i1", lm.special.i1, torch.special.i1, rng.uniform(-25, 25, 12)),
    ("i1e", lm.special.i1e, torch.special.i1e, rng.uniform(-25, 25, 12)),
    ("ndtri", lm.special.ndtri, torch.special.ndtri, rng.uniform(0.01, 0.99, 12)),
    ("log_ndtr", lm.special.log_ndtr, torch.special.log_ndtr, rng.uniform(-30, 5, 12)),
    ("mvlgamma", lambda t: lm.mvlgamma(t, 2), lambda t: torch.mvlgamma(t, 2),
     rng.uniform(1, 5, 12)),
]


@pytest.mark.parametrize("name,lf,tf,x", [
    pytest.param(*g, id=g[0], marks=() if g[0] in ("lgamma", "erfinv", "i0") else
                 pytest.mark.slow) for g in GRADS])
def test_gradients(name, lf, tf, x):
    lx, tx = lm.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    lf(lx).sum().backward()
    tf(tx).sum().backward()
    np.testing.assert_allclose(lx.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("backend", ["c", pytest.param("triton", marks=pytest.mark.slow)])
def test_compiled(backend):
    x = np.array([-3.5, -0.5, 0.3, 1.5, 7.0, 25.0], dtype=np.float32)
    y = np.array([-0.9, -0.3, 0.0, 0.2, 0.7, 0.99], dtype=np.float32)

    def program(x, y):
        return (lm.lgamma(x), lm.digamma(x), lm.erfc(x), lm.erfinv(y), lm.i0(x),
                lm.special.i1e(x))

    got = lm.jit(program, backend=backend)(x, y)
    tx, ty = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    want = (torch.lgamma(tx), torch.digamma(tx), torch.erfc(tx), torch.erfinv(ty), torch.i0(tx),
            torch.special.i1e(tx))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), w.numpy(), rtol=2e-5, atol=1e-6)


def test_mvlgamma_outside_domain():
    """torch 2.13 no longer refuses x <= (p-1)/2: the formula's value (inf at poles)."""
    x = [0.5, 2.0, -1.0, 1.0, 0.75]
    np.testing.assert_allclose(lm.mvlgamma(lm.tensor(x), 3).numpy(),
                               torch.mvlgamma(torch.tensor(x), 3).numpy(), rtol=1e-6)
