"""The edges of issue 14's math, composite and shape ops, against torch: special values,
integer rules, exception types and the argument overloads the op-table rows do not
reach (those check forward values on every backend and gradients)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lamina as lm

SPECIAL = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1.0, -2.5, 1e30, -1e-30]


def _same(got, want, **kw):
    got = got.numpy() if isinstance(got, lm.Tensor) else np.asarray(got)
    want = want.numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got, want)
    np.testing.assert_allclose(got, want, **kw)
    if got.dtype.kind == "f":  # signed zeros too
        np.testing.assert_array_equal(np.signbit(got[got == 0]), np.signbit(want[got == 0]))


@pytest.mark.parametrize("name", ["hypot", "logaddexp", "logaddexp2", "xlogy", "copysign",
                                  "fmod", "atan2"])
def test_binary_special_values(name):
    a, b = np.meshgrid(np.float32(SPECIAL), np.float32(SPECIAL))
    with np.errstate(all="ignore"):
        want = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
        if name == "fmod":  # C's exact fmod: torch's CPU kernel says NaN where a / b
            want = np.fmod(a, b)  # overflows (fmod(1e30, -1e-30)), elsewhere the same
    _same(getattr(lm, name)(lm.tensor(a), lm.tensor(b)), want, rtol=1e-6)


@pytest.mark.parametrize("name", ["asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh",
                                  "trunc", "frac", "sinc", "deg2rad", "nan_to_num", "isnan",
                                  "isinf", "isfinite", "isposinf", "isneginf"])
def test_unary_special_values(name):
    x = np.float32(SPECIAL + [0.5, -1.0, 1.5, 100.0, 3e38])
    _same(getattr(lm, name)(lm.tensor(x)), getattr(torch, name)(torch.tensor(x)), rtol=2e-6)


def test_integer_rules():
    a = lm.tensor([-5, 5, -1, 7], dtype=lm.int32)
    ta = torch.tensor([-5, 5, -1, 7], dtype=torch.int32)
    amounts = [1, 31, 40, -1]
    _same(a << lm.tensor(amounts, dtype=lm.int32), ta << torch.tensor(amounts, dtype=torch.int32))
    _same(a >> lm.tensor(amounts, dtype=lm.int32), ta >> torch.tensor(amounts, dtype=torch.int32))
    _same(lm.tensor([200], dtype=lm.uint8) >> 3, torch.tensor([200], dtype=torch.uint8) >> 3)
    _same(~a, ~ta)
    _same(lm.fmod(a, 3), torch.fmod(ta, 3))
    for name in ("isnan", "isinf", "isfinite", "trunc", "nan_to_num", "deg2rad", "sinc"):
        _same(getattr(lm, name)(a), getattr(torch, name)(ta))
    with pytest.raises(RuntimeError, match="division by zero"):
        lm.fmod(a, 0)
    with pytest.raises(NotImplementedError):
        lm.bitwise_left_shift(lm.tensor([1.5]), 1)
    with pytest.raises(NotImplementedError):
        lm.round(a, decimals=1)
    for name in ("hypot", "logaddexp", "lerp"):
        args = (a, a, 0.5) if name == "lerp" else (a, a)
        with pytest.raises(NotImplementedError):
            getattr(lm, name)(*args)


def test_isclose_allclose_equal():
    a = torch.tensor([1.0, float("nan"), float("inf"), 2.0, -float("inf")])
    b = torch.tensor([1.0 + 1e-6, float("nan"), float("inf"), 2.1, float("inf")])
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.1}, {"rtol": 0, "atol": 0}):
        _same(lm.isclose(lm.tensor(a.numpy()), lm.tensor(b.numpy()), **kw),
              torch.isclose(a, b, **kw))
    ia, ib = torch.tensor([1, 2]), torch.tensor([1, 3])
    _same(lm.isclose(lm.tensor([1, 2]), lm.tensor([1, 3]), rtol=0.5, atol=0),
          torch.isclose(ia, ib, rtol=0.5, atol=0))
    with pytest.raises(RuntimeError):
        lm.isclose(lm.tensor([1, 2]), lm.tensor([1.0, 2.0]))
    assert lm.allclose(lm.tensor([1.0, 2.0]), lm.tensor([1.0, 2.0 + 1e-7]))
    assert lm.equal(lm.tensor([1, 2]), lm.tensor([1, 2]))
    assert not lm.equal(lm.tensor([1, 2]), lm.tensor([[1, 2]]))
    assert not lm.equal(lm.tensor([float("nan")]), lm.tensor([float("nan")]))


def test_nan_to_num_arguments_and_gradient():
    x = np.float32([float("nan"), float("inf"), -float("inf"), 2.0])
    _same(lm.nan_to_num(lm.tensor(x), 1.0, 2.0, -3.0), torch.nan_to_num(torch.tensor(x), 1.0, 2.0, -3.0))
    _same(lm.tensor(x).to(lm.float64).nan_to_num(), torch.tensor(x).double().nan_to_num())
    g = lm.grad(lambda v: lm.nan_to_num(v).sum())(lm.tensor(x))
    _same(g, np.float32([0, 0, 0, 1]))


def test_gradients_at_the_edges():
    """xlogy at x = 0, sinc at 0, hypot's scaling, logaddexp at a tie: torch's values."""
    cases = [
        (lambda m, x, y: m.xlogy(x, y), [0.0, 0.0, 2.0], [-1.0, 3.0, 0.5]),
        (lambda m, x, y: m.sinc(x) * y, [0.0, 0.5, -1.0], [1.0, 1.0, 1.0]),
        (lambda m, x, y: m.hypot(x, y), [3e20, 1.0, -2.0], [4e20, 0.0, 2.0]),
        (lambda m, x, y: m.logaddexp(x, y), [1.0, -3.0, 50.0], [1.0, 2.0, -50.0]),
        (lambda m, x, y: m.lerp(x, y, y), [1.0, 2.0, 3.0], [0.2, 0.7, 1.0]),
    ]
    for fn, x, y in cases:
        tx = torch.tensor(x, requires_grad=True)
        ty = torch.tensor(y, requires_grad=True)
        fn(torch, tx, ty).sum().backward()
        gx, gy = lm.grad(lambda a, b, fn=fn: fn(lm, a, b).sum(), argnums=(0, 1))(
            lm.tensor(x), lm.tensor(y))
        np.testing.assert_allclose(np.asarray(gx), tx.grad.numpy(), rtol=1e-5, atol=1e-30)
        np.testing.assert_allclose(np.asarray(gy), ty.grad.numpy(), rtol=1e-5, atol=1e-30)


def test_multiply_adds_scalars():
    i, m, v = torch.tensor([5, 7]), torch.tensor([[1, 2], [3, 4]]), torch.tensor([1, 1])
    li, lmm, lv = lm.tensor([5, 7]), lm.tensor([[1, 2], [3, 4]]), lm.tensor([1, 1])
    for beta, alpha in ((0.2, 0.6), (1.7, 2.6), (-1.7, 2)):
        _same(lm.addmv(li, lmm, lv, beta=beta, alpha=alpha),
              torch.addmv(i, m, v, beta=beta, alpha=alpha))
    nan = torch.full((2, 2), float("nan"))
    _same(lm.addmm(lm.tensor(nan.numpy()), lm.ones(2, 2), lm.ones(2, 2), beta=0),
          torch.addmm(nan, torch.ones(2, 2), torch.ones(2, 2), beta=0))
    _same(lm.addcmul(li, lmm[0], lv, value=0.5), torch.addcmul(i, m[0], v, value=0.5))
    with pytest.raises(RuntimeError):
        lm.addcdiv(li, li, li)
    with pytest.raises(RuntimeError):
        lm.addmm(lm.ones(3, 3), lm.ones(2, 2), lm.ones(2, 2))


def test_norm_overloads():
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    t, lx = torch.tensor(x), lm.tensor(x)
    _same(lx.norm(), t.norm(), rtol=1e-6)
    _same(lm.norm(lx, dim=1, keepdim=True), torch.norm(t, dim=1, keepdim=True), rtol=1e-6)
    _same(lm.norm(lx, float("inf")), torch.norm(t, float("inf")))
    _same(lm.linalg.norm(lx, dim=(0, 1)), torch.linalg.norm(t, dim=(0, 1)), rtol=1e-6)
    _same(lm.linalg.norm(lx, float("inf")), torch.linalg.norm(t, float("inf")))
    _same(lm.linalg.vector_norm(lx, 0), torch.linalg.vector_norm(t, 0))
    for o in ("nuc", 2, -2):  # through svdvals
        _same(lm.linalg.matrix_norm(lx, o), torch.linalg.matrix_norm(t, o), rtol=1e-5)
    g = lm.grad(lambda v: lm.linalg.vector_norm(v))(lm.zeros(3))
    _same(g, np.zeros(3, np.float32))
    with pytest.raises(RuntimeError):
        lm.linalg.vector_norm(lm.tensor([1, 2]))


def test_cross_default_dim_and_errors():
    a = np.random.default_rng(1).normal(size=(3, 2, 3)).astype(np.float32)
    _same(lm.cross(lm.tensor(a), lm.tensor(a[::-1].copy())),
          torch.cross(torch.tensor(a), torch.tensor(a[::-1].copy()), dim=0), rtol=1e-6)
    with pytest.raises(RuntimeError):
        lm.linalg.cross(lm.ones(3, 2), lm.ones(3, 2))


def test_shapes_and_indices():
    x = torch.arange(24.0).reshape(2, 3, 4)
    lx = lm.tensor(x.numpy())
    for off in (-3, -1, 0, 2, 4):
        _same(lm.diagonal(lx, off, -1, 0), torch.diagonal(x, off, -1, 0))
        _same(lm.diag_embed(lx, off, 0, 2), torch.diag_embed(x, off, 0, 2))
    _same(lm.linalg.diagonal(lx, offset=1), torch.linalg.diagonal(x, offset=1))
    for r, c, o in ((3, 4, 0), (4, 3, -2), (0, 3, 0), (3, 3, 5)):
        _same(lm.tril_indices(r, c, o), torch.tril_indices(r, c, o))
        _same(lm.triu_indices(r, c, o), torch.triu_indices(r, c, o))
    _same(lx.unfold(2, 3, 1), x.unfold(2, 3, 1))
    _same(lx.repeat(1, 2, 1, 1), x.repeat(1, 2, 1, 1))
    _same(lm.tile(lx, (2, 1)), torch.tile(x, (2, 1)))
    _same(lm.moveaxis(lx, -1, 0), torch.moveaxis(x, -1, 0))
    _same(lx.unflatten(-1, (2, 2)), x.unflatten(-1, (2, 2)))
    for got, want in zip(lm.meshgrid([lx[0, 0], lx[0, :, 0]], indexing="xy"),
                         torch.meshgrid([x[0, 0], x[0, :, 0]], indexing="xy"), strict=True):
        _same(got, want)
    with pytest.raises(RuntimeError):
        lx.repeat(2, 2)
    with pytest.raises(RuntimeError):
        lm.diag(lx)


def test_round_decimals_and_softmax_method():
    x = np.float32([1.2345, -2.5, 1234.5678, 0.0051])
    for d in (0, 1, 2, -1, -2):
        _same(lm.tensor(x).round(decimals=d), torch.tensor(x).round(decimals=d))
    _same(lm.tensor(x).softmax(0), torch.tensor(x).softmax(0), rtol=1e-6)
    _same(lm.log_softmax(lm.tensor(x), 0), torch.log_softmax(torch.tensor(x), 0), rtol=1e-6)


def test_in_place_initialisers_follow_manual_seed():
    t = lm.zeros(1000)
    lm.manual_seed(3)
    t.normal_(2.0, 0.5)
    first = t.numpy().copy()
    assert abs(first.mean() - 2.0) < 0.1 and abs(first.std() - 0.5) < 0.05
    lm.manual_seed(3)
    t.normal_(2.0, 0.5)
    np.testing.assert_array_equal(t.numpy(), first)
    t.uniform_(-3, to=-1)
    assert -3 <= t.numpy().min() and t.numpy().max() < -1
    assert lm.normal(lm.zeros(2, 3), 1.0).shape == (2, 3)
    assert lm.normal(0.0, lm.ones(4)).shape == (4,)
    assert lm.normal(1.0, 2.0, (5,)).shape == (5,)
    w = lm.ones(3, requires_grad=True)
    y = w * 2
    y.detach_()
    assert not y.requires_grad
    assert math.isclose(float(y.sum()), 6.0)
