"""`lm.jit` guards what a trace read (issue 15, item 1): a module's `training` flag
and attributes, re-assigned parameters, re-bound globals, changed Python floats and
ints in closures and globals, optimizer hyperparameters. A failed guard retraces
(and `LAMINA_LOG_RECOMPILES=1` says which); an unchanged call never does."""

from __future__ import annotations

import numpy as np
import pytest

import lamina as lm
import lamina.nn as nn
from lamina.frontend import jit as jit_mod


@pytest.fixture
def traces(monkeypatch):
    """How many times lm.jit traced."""
    count = [0]
    trace_flat = jit_mod.trace_flat

    def counting(*args, **kwargs):
        count[0] += 1
        return trace_flat(*args, **kwargs)

    monkeypatch.setattr(jit_mod, "trace_flat", counting)
    return count


X = np.ones((4, 8), np.float32)


def test_eval_turns_dropout_off_in_a_jitted_forward(traces):
    lm.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5))
    f = lm.jit(lambda x: m(x))
    assert (f(X).numpy() == 0).any()  # dropout on
    m.eval()
    np.testing.assert_allclose(f(X).numpy(), m[0](X).numpy(), rtol=1e-6)
    m.train()
    assert (f(X).numpy() == 0).any()
    m[1].p = 0.0  # an attribute the trace baked in
    np.testing.assert_allclose(f(X).numpy(), m[0](X).numpy(), rtol=1e-6)
    assert traces[0] == 4


def test_a_reassigned_parameter_is_read(traces):
    m = nn.Linear(8, 3)
    f = lm.jit(lambda x: m(x))
    f(X)
    m.weight = nn.Parameter(np.zeros((3, 8), np.float32))
    np.testing.assert_allclose(f(X).numpy(), np.broadcast_to(m.bias.numpy(), (4, 3)))
    m.bias = nn.Parameter(np.full(3, 7.0, np.float32))
    np.testing.assert_allclose(f(X).numpy(), np.full((4, 3), 7.0))
    assert traces[0] == 3


W = lm.tensor(np.ones(3, np.float32))
SCALE = 2.0
STEPS = 2


def _scaled(y):
    out = y * W * SCALE
    for _ in range(STEPS):  # an int that changes the program's structure
        out = out + 1.0
    return out


def test_rebound_globals_are_read(traces, monkeypatch):
    f = lm.jit(_scaled)
    y = np.ones(3, np.float32)
    np.testing.assert_allclose(f(y).numpy(), [4.0, 4.0, 4.0])
    monkeypatch.setitem(globals(), "W", lm.tensor(np.full(3, 5.0, np.float32)))
    np.testing.assert_allclose(f(y).numpy(), [12.0, 12.0, 12.0])
    monkeypatch.setitem(globals(), "SCALE", 3.0)
    np.testing.assert_allclose(f(y).numpy(), [17.0, 17.0, 17.0])
    monkeypatch.setitem(globals(), "STEPS", 5)
    np.testing.assert_allclose(f(y).numpy(), [20.0, 20.0, 20.0])
    f(y)
    assert traces[0] == 4


def test_closure_values_and_helper_functions_are_read(traces):
    scale, offset = 2.0, 1

    def helper(v):
        return v + offset

    f = lm.jit(lambda y: helper(y * scale))
    y = np.ones(2, np.float32)
    np.testing.assert_allclose(f(y).numpy(), [3.0, 3.0])
    scale = 10.0
    np.testing.assert_allclose(f(y).numpy(), [11.0, 11.0])
    offset = -1  # read by a function the traced one calls
    np.testing.assert_allclose(f(y).numpy(), [9.0, 9.0])

    def helper(v):  # noqa: F811 (re-bound on purpose)
        return v * 0.0

    np.testing.assert_allclose(f(y).numpy(), [0.0, 0.0])
    assert traces[0] == 4


def test_attributes_of_user_objects_are_read(traces):
    class Config:
        def __init__(self):
            self.temperature = 2.0

    cfg = Config()
    f = lm.jit(lambda y: y / cfg.temperature)
    y = np.full(2, 4.0, np.float32)
    np.testing.assert_allclose(f(y).numpy(), [2.0, 2.0])
    cfg.temperature = 4.0
    np.testing.assert_allclose(f(y).numpy(), [1.0, 1.0])
    assert traces[0] == 2


def test_an_unchanged_call_does_not_retrace(traces):
    lm.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.1), nn.Linear(8, 2))
    opt = lm.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    nan = float("nan")

    @lm.jit
    def step(x):
        opt.zero_grad()
        loss = (model(x) ** 2).mean() + nan * 0.0
        loss.backward()
        opt.step()
        return loss

    for i in range(4):
        step(X)
        nn.Linear(2, 2).eval()  # other modules changing: the guards are checked again
        opt.param_groups[0]["lr"] = 0.1 / (i + 1)  # the learning rate is an input
    assert traces[0] == 1


def test_optimizer_hyperparameters_are_guarded(traces):
    model = nn.Linear(8, 2)
    opt = lm.optim.SGD(model.parameters(), lr=0.1, weight_decay=0.0)

    @lm.jit
    def step(x):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()

    step(X)
    w = model.weight.numpy().copy()
    opt.param_groups[0]["weight_decay"] = 0.5  # a constant of the traced step
    step(X)
    assert traces[0] == 2
    np.testing.assert_allclose(model.weight.numpy(),
                               w - 0.1 * (model.weight.grad.numpy() + 0.5 * w), rtol=1e-5)


def test_a_captured_tensor_that_changed_dtype_or_requires_grad_retraces(traces):
    model = nn.Linear(8, 2)
    f = lm.jit(lambda x: model(x))
    f(X)
    model.double()
    assert f(X.astype(np.float64)).dtype == lm.float64
    model.weight.requires_grad_(False)

    @lm.jit
    def grads(x):
        model.zero_grad()
        model(x).sum().backward()
        return model.bias.grad

    x = X.astype(np.float64)
    grads(x)
    model.weight.requires_grad_(True)
    grads(x)
    assert model.weight.grad is not None


def test_the_log_names_the_failed_guard(capfd, monkeypatch):
    monkeypatch.setenv("LAMINA_LOG_RECOMPILES", "1")
    m = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5))
    f = lm.jit(lambda x: m(x))
    f(X)
    m.eval()
    f(X)
    err = capfd.readouterr().err
    assert "[lamina recompile]" in err and "closure 'm'.training changed: True -> False" in err
