"""`lm.autograd.grad` against `torch.autograd.grad`: first and second order, non-leaf
inputs, grad_outputs, allow_unused/materialize_grads, .grad untouched, eager and jit."""

import numpy as np
import pytest
import torch

import lamina as lm
import lamina.nn as nn

RNG = np.random.RandomState(0)
X = RNG.randn(4, 3).astype(np.float32)
W = RNG.randn(3, 2).astype(np.float32)


def _program(mod, x0, w0, *, grad_fn=None):
    """A gradient-penalty step: d/dx of an output, its norm penalised, backward to w."""
    x = mod.tensor(x0, requires_grad=True)
    w = mod.tensor(w0, requires_grad=True)
    y = ((x @ w).tanh() ** 2).sum()
    (gx,) = mod.autograd.grad(y, x, create_graph=True)
    penalty = ((gx * gx).sum(1).sqrt() - 1).pow(2).mean()
    penalty.backward()
    h = (x * 3).detach().requires_grad_()
    mid = h.exp()
    out = (mid * mid).sum(0)
    gm, gh = mod.autograd.grad(out, [mid, h], grad_outputs=mod.ones(3) * 0.5)
    return [gx.detach(), w.grad, x.grad, gm, gh]


def test_matches_torch_eager():
    ours = _program(lm, X, W)
    ref = _program(torch, X, W)
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-5, atol=2e-5)


def test_results_detached_unless_create_graph():
    x = lm.tensor(X, requires_grad=True)
    (g,) = lm.autograd.grad((x * x).sum(), x)
    assert not g.requires_grad and x.grad is None
    (g2,) = lm.autograd.grad((x * x).sum(), x, create_graph=True)
    assert g2.requires_grad


def test_under_jit_second_order():
    @lm.jit
    def step(x):
        (g,) = lm.autograd.grad((x ** 3).sum(), x, create_graph=True)
        (h,) = lm.autograd.grad(g.sum(), x)
        return g, h

    g, h = step(lm.tensor(X, requires_grad=True))
    np.testing.assert_allclose(g.numpy(), 3 * X ** 2, rtol=1e-5)
    np.testing.assert_allclose(h.numpy(), 6 * X, rtol=1e-5, atol=1e-6)


def test_module_parameters():
    torch.manual_seed(0)
    ref = torch.nn.Linear(3, 2)
    ours = nn.Linear(3, 2)
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    got = lm.autograd.grad(ours(lm.tensor(X)).pow(2).sum(), list(ours.parameters()))
    want = torch.autograd.grad(ref(torch.tensor(X)).pow(2).sum(), list(ref.parameters()))
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    assert all(p.grad is None for p in ours.parameters())


def test_unused_inputs():
    x = lm.tensor(X, requires_grad=True)
    unused = lm.tensor(W, requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="not have been used"):
        lm.autograd.grad(y, [x, unused])
    gx, gu = lm.autograd.grad(y, [x, unused], allow_unused=True)
    assert gu is None and np.all(gx.numpy() == 2)
    _, gz = lm.autograd.grad(y, [x, unused], materialize_grads=True)
    assert gz.shape == (3, 2) and not np.any(gz.numpy())


def test_errors_are_torchs():
    x = lm.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        lm.autograd.grad(x * 2, x)
    with pytest.raises(RuntimeError, match="does not require grad"):
        lm.autograd.grad(lm.tensor(X).sum(), x)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        lm.autograd.grad(x * 2, x, grad_outputs=lm.ones(2))
