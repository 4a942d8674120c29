"""What makes eager lamina cheaper per step (issue 16 point 7, `python -m bench.eager`)
must not change what it computes: the jitted eager `optimizer.step()` against the lazy
one, pending values across a step, the recording shortcuts (memoized attributes,
relu's shared zero, interned structural keys)."""

from __future__ import annotations

import numpy as np
import pytest

import lamina as lm
import lamina.nn as nn
from lamina.frontend import graph as graphs


def _train(monkeypatch, jit_step: str, opt_name: str) -> tuple[list[float], list[np.ndarray]]:
    monkeypatch.setenv("LAMINA_EAGER_STEP_JIT", jit_step)
    r = np.random.default_rng(0)
    x, y = r.standard_normal((16, 6)).astype(np.float32), r.integers(0, 3, 16)
    lm.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = (lm.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3) if opt_name == "adam"
           else lm.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True))
    losses = []
    for _ in range(4):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(lm.tensor(x)), lm.tensor(y))
        loss.backward()
        opt.step()
        losses.append(loss.item())  # still lazy at step(): read after the update
    return losses, [p.detach().numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("opt_name", ["adam", "sgd"])
def test_jitted_eager_step_computes_the_lazy_step(monkeypatch, opt_name):
    want_losses, want = _train(monkeypatch, "0", opt_name)
    got_losses, got = _train(monkeypatch, "1", opt_name)
    assert got_losses == want_losses
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_jitted_eager_step_records_no_eager_ops_and_keeps_pending_values():
    p = lm.tensor(np.full(3, 2.0, np.float32), requires_grad=True)
    opt = lm.optim.SGD([p], lr=0.25)
    (p * p).sum().backward()
    opt.step()  # traced and compiled once: p = 2 - 0.25 * 4 = 1
    opt.zero_grad()
    (p * p).sum().backward()
    before = p * 10  # pending on p's array, which the next step updates in place
    graph = graphs.current()
    n_ops = graph.n_ops
    opt.step()  # p = 1 - 0.25 * 2
    assert graphs.current() is graph and graph.n_ops == n_ops
    np.testing.assert_array_equal(before.numpy(), np.full(3, 10.0, np.float32))
    np.testing.assert_array_equal(p.numpy(), np.full(3, 0.5, np.float32))


def test_jitted_eager_step_sees_a_state_tensor_assigned_anew():
    p = lm.tensor(np.zeros(2, np.float32), requires_grad=True)
    opt = lm.optim.SGD([p], lr=1.0, momentum=0.5)
    for _ in range(2):
        p.grad = lm.tensor(np.ones(2, np.float32))
        opt.step()
    opt.state[p]["momentum_buffer"] = lm.tensor(np.full(2, 10.0, np.float32))
    p.grad = lm.tensor(np.ones(2, np.float32))
    before = p.numpy().copy()
    opt.step()  # buffer = 0.5 * 10 + 1 = 6
    np.testing.assert_array_equal(p.numpy(), before - 6)


def test_a_gradient_that_requires_grad_keeps_the_step_eager():
    p = lm.tensor(np.ones(2, np.float32), requires_grad=True)
    opt = lm.optim.SGD([p], lr=0.1)
    p.grad = lm.tensor(np.ones(2, np.float32), requires_grad=True)
    assert not opt._jittable()
    opt.step()
    np.testing.assert_allclose(p.numpy(), [0.9, 0.9])


def test_relu_records_one_zero_and_keeps_torchs_values():
    x = lm.tensor(np.array([-1.0, -0.0, 0.0, 2.0, np.nan], np.float32), requires_grad=True)
    graph = graphs.current()
    n_ops = graph.n_ops
    y = x.relu()
    assert graph.n_ops - n_ops == 6  # splat, lt, eq, stop_gradient, two selects
    out = y.numpy()
    np.testing.assert_array_equal(out[[0, 2, 3]], [0.0, 0.0, 2.0])
    assert np.signbit(out[1]) and np.isnan(out[4])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0, 1, 1])


def test_memoized_attributes_keep_the_sign_of_zero():
    a = lm.full((2,), 0.0).numpy()
    b = lm.full((2,), -0.0).numpy()
    assert not np.signbit(a).any() and np.signbit(b).all()


def test_eager_programs_differing_only_in_a_constant_are_different_programs():
    x = lm.tensor(np.arange(3, dtype=np.float32))
    assert (x * 1.5 + 1).tolist() == [1.0, 2.5, 4.0]
    assert (x * 2.5 + 1).tolist() == [1.0, 3.5, 6.0]
    assert (x * 1.5 - 1).tolist() == [-1.0, 0.5, 2.0]
