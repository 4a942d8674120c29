"""Issue 15 item 8: valid programs that failed to compile or run, each checked against
torch on every backend (a DCGAN-style generator, chained comparisons, 0-d erf)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as tf
from conftest import compiled_backends

import lamina as lm


def test_comparison_of_a_comparison(backend):
    # the cast of a stored bool to int64 shared a CSE entry with its i8 storage extension
    f = lm.jit(lambda a, b: (a > b, (a > b) > 2, (a > b).to(lm.int64) + 3), backend=backend)
    a = np.array([1.0, -1.0, 2.0], np.float32)
    b = np.zeros(3, np.float32)
    got = [np.asarray(v) for v in f(a, b)]
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    want = [(ta > tb).numpy(), ((ta > tb) > 2).numpy(), ((ta > tb).long() + 3).numpy()]
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_dim_erf(backend, dtype):
    x = np.asarray(0.5, dtype)
    got = np.asarray(lm.jit(lambda a: lm.erf(a), backend=backend)(x))
    np.testing.assert_allclose(got, torch.erf(torch.from_numpy(x)).numpy(), rtol=1e-6)


def _batch_norm(x, gamma, beta, lib):
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = ((x - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
    return (x - mean) / lib.sqrt(var + 1e-5) * gamma.reshape(1, -1, 1, 1) + \
        beta.reshape(1, -1, 1, 1)


def _generator(z, w1, w2, g1, b1, lib, conv_t, relu):
    x = relu(_batch_norm(conv_t(z, w1, stride=1, padding=0), g1, b1, lib))
    return lib.tanh(conv_t(x, w2, stride=2, padding=1))


# the Triton interpreter runs this step in ~20 s: in the slow suite
_DCGAN_BACKENDS = [pytest.param(b, marks=pytest.mark.slow) if b == "triton" else b
                   for b in compiled_backends()]


@pytest.mark.parametrize("backend", _DCGAN_BACKENDS)
def test_dcgan_generator_step(backend):
    """conv_transpose2d + batch norm + relu + tanh, forward and gradients: the C code
    generator used a value before its definition (`cpu-group-reductions` moved a
    scalar that a later grouped reduction read after their shared loop)."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) * k for s, k in [
        ((2, 8, 1, 1), 1.0), ((8, 4, 4, 4), 0.2), ((4, 3, 4, 4), 0.2), ((4,), 1.0), ((4,), 0.1)]]

    def step(z, w1, w2, g1, b1):
        out = _generator(z, w1, w2, g1, b1, lm, lm.conv_transpose2d, lm.relu)
        return (out * out).mean()

    f = lm.jit(lm.value_and_grad(step, argnums=(1, 2, 3, 4)), backend=backend)
    value, grads = f(*arrays)
    tz, *tps = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = _generator(tz, *tps, torch, tf.conv_transpose2d, torch.relu)
    want = (out * out).mean()
    want.backward()
    np.testing.assert_allclose(np.asarray(value), want.item(), rtol=1e-5)
    for g, p in zip(grads, tps, strict=True):
        np.testing.assert_allclose(np.asarray(g), p.grad.numpy(), rtol=2e-4, atol=1e-6)
