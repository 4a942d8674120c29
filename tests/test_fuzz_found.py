"""Minimal programs for what differential fuzzing (tests/fuzz_programs.py) found, each
fixed at its root in the compiler: the program runs eagerly and under `lm.jit` on every
backend, and its value (and, for float programs, gradients) must match torch's."""

import numpy as np
import pytest
import torch
from conftest import compiled_backends

import lamina as lm

BACKENDS = ["eager", *compiled_backends()]


def _torch(fn, inputs, grad):
    xs = [torch.from_numpy(x.copy()).requires_grad_(grad) for x in inputs]
    out = fn(torch, *xs)
    if not grad:
        return out.detach().numpy(), None
    w = np.random.default_rng(0).uniform(0.5, 1.5, tuple(out.shape)).astype(
        str(out.dtype).removeprefix("torch."))
    gs = torch.autograd.grad((out * torch.from_numpy(w)).sum(), xs, allow_unused=True)
    return out.detach().numpy(), w, [np.zeros_like(x) if g is None else g.numpy()
                                     for g, x in zip(gs, inputs, strict=True)]


def _lamina(fn, inputs, backend, w):
    if backend == "eager":
        xs = [lm.tensor(x.copy(), requires_grad=w is not None) for x in inputs]
        out = fn(lm, *xs)
        if w is None:
            return out.numpy(), None
        (out * lm.tensor(w)).sum().backward()
        return out.detach().numpy(), [np.zeros_like(x) if x.grad is None else x.grad.numpy()
                                      for x in xs]
    if w is None:
        return lm.jit(lambda *xs: fn(lm, *xs), backend=backend)(*inputs).numpy(), None

    def loss(*xs):
        out = fn(lm, *xs)
        return (out * lm.tensor(w)).sum(), out

    f = lm.value_and_grad(loss, argnums=tuple(range(len(inputs))), has_aux=True)
    (_, out), grads = lm.jit(f, backend=backend)(*inputs)
    return out.numpy(), [np.asarray(g) for g in grads]


def check(fn, inputs, backend, grad=True, rtol=1e-6):
    if grad:
        want, w, want_grads = _torch(fn, inputs, True)
    else:
        (want, _), w, want_grads = _torch(fn, inputs, False), None, None
    got, grads = _lamina(fn, inputs, backend, w)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0)
    for g, t in zip(grads or [], want_grads or [], strict=True):
        np.testing.assert_allclose(g, t, rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_through_an_empty_intermediate(backend):
    """seed 1622: the backward pads an empty gradient; the fused pad read element [0, r, c]
    of a 0x2x1 buffer under a select, and the Triton interpreter segfaulted on the load."""
    def prog(m, x, g):
        x5 = m.narrow(x, 0, 0, 0)
        x6 = m.where(x5 > 0, x5, 0.5) * g
        return m.narrow(x6, 2, 2, 1)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 3)).astype(np.float32)
    g = rng.standard_normal((1, 2, 3)).astype(np.float32)
    check(prog, [x, g], backend)
