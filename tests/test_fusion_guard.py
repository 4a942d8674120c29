"""The fusion planner's guard against recomputation: a value inlined at several points
of one loop iteration (a recurrence reading x_{t-1} at s, s-1, s-2), one shared by
several kernels, or the end of a very long chain of element rules is materialized, so
that the lowered program grows linearly with the steps of a recurrence (it grew as
3^steps, and compiled for hours at 12 steps) and never overflows Python's stack."""

import re

import numpy as np
import pytest

import lamina as lm
from lamina.frontend import movement


def _recurrence(x, steps):
    """alpha_t(s) = logsumexp(alpha(s), alpha(s-1), alpha(s-2)) + x_t(s), as in CTC."""
    pad = lm.full((x.shape[1], 1), -1e30)
    alpha = x[0]
    for t in range(1, steps):
        prev1 = movement.cat([pad, alpha[:, :-1]], dim=1)
        prev2 = movement.cat([pad, pad, alpha[:, :-2]], dim=1)
        m = lm.maximum(lm.maximum(alpha, prev1), prev2)
        alpha = m + lm.log(lm.exp(alpha - m) + lm.exp(prev1 - m) + lm.exp(prev2 - m)) + x[t]
    return alpha.sum()


def _loop_ops(steps):
    x = lm.tensor(np.random.RandomState(0).randn(steps, 2, 7).astype(np.float32))
    lowered = lm.jit(lm.value_and_grad(lambda x: _recurrence(x, steps))).lower(x)
    return len(re.findall(r"= \"?[a-z_]+\.[a-z_]+", lowered.ir("loop")))


def test_recurrence_lowers_linearly():
    small, large = _loop_ops(8), _loop_ops(16)
    assert large < 2.6 * small, (small, large)


@pytest.mark.parametrize("backend", ["c", "interp"])
def test_recurrence_values_and_gradients(backend):
    torch = pytest.importorskip("torch")
    x0 = np.random.RandomState(1).randn(10, 2, 7).astype(np.float32)
    f = lm.jit(lm.value_and_grad(lambda x: _recurrence(x, 10)), backend=backend)
    value, grad = f(lm.tensor(x0))

    xt = torch.tensor(x0, requires_grad=True)
    alpha = xt[0]
    pad = torch.full((2, 1), -1e30)
    for t in range(1, 10):
        stacked = torch.stack([alpha, torch.cat([pad, alpha[:, :-1]], 1),
                               torch.cat([pad, pad, alpha[:, :-2]], 1)])
        alpha = torch.logsumexp(stacked, 0) + xt[t]
    alpha.sum().backward()
    np.testing.assert_allclose(value.numpy(), alpha.sum().item(), rtol=1e-5)
    np.testing.assert_allclose(grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_long_chain_through_other_points_does_not_overflow_the_stack():
    def chain(x):
        for _ in range(400):  # reshapes read other points: not one same-point chain
            x = (x.reshape(4, 3).T.reshape(12) * 1.001 + 0.5)[lm.tensor([0, *range(1, 12)])]
        return x.sum()

    x = lm.tensor(np.arange(12, dtype=np.float32))
    got = lm.jit(chain)(x).numpy()
    want = x.numpy()
    for _ in range(400):
        want = want.reshape(4, 3).T.reshape(12) * np.float32(1.001) + np.float32(0.5)
    np.testing.assert_allclose(got, want.sum(), rtol=1e-4)
