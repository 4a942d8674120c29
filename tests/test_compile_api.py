"""`lm.compile`, torch.compile's spelling: training through a compiled module is the
uncompiled module's training (autograd intact), inference runs one jitted program, and
the wrapper looks like torch's OptimizedModule (parameters, `_orig_mod.` state_dict keys)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm

X = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
Y = np.random.default_rng(1).integers(0, 3, 8)


def _model(m):
    m.manual_seed(0)
    return m.nn.Sequential(m.nn.Linear(4, 16), m.nn.ReLU(), m.nn.Linear(16, 3))


def _copy_weights(ours, theirs):
    ours.load_state_dict({k: lm.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def test_training_a_compiled_module_matches_torch():
    t_model, l_model = _model(torch), _model(lm)
    _copy_weights(l_model, t_model)
    t_c, l_c = torch.compile(t_model, backend="eager"), lm.compile(l_model)
    t_opt = torch.optim.SGD(t_c.parameters(), lr=0.1, momentum=0.9)
    l_opt = lm.optim.SGD(l_c.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        for m, model, opt in ((torch, t_c, t_opt), (lm, l_c, l_opt)):
            opt.zero_grad()
            loss = m.nn.functional.cross_entropy(model(m.tensor(X)), m.tensor(Y))
            loss.backward()
            opt.step()
    for (k, v), (k2, v2) in zip(t_c.state_dict().items(), l_c.state_dict().items(), strict=True):
        assert k == k2 and k.startswith("_orig_mod.")
        np.testing.assert_allclose(v2.numpy(), v.numpy(), rtol=1e-5, atol=1e-6)


def test_inference_runs_the_jitted_program_and_follows_eval():
    model = lm.nn.Sequential(lm.nn.Linear(4, 4), lm.nn.Dropout(0.9))
    compiled = lm.compile(model)
    compiled.eval()
    with lm.no_grad():
        out = compiled(lm.tensor(X))
    np.testing.assert_allclose(out.numpy(), model(lm.tensor(X)).detach().numpy(), rtol=1e-6)
    assert not out.requires_grad
    assert compiled._jitted._recompiles.count == 1  # it went through lm.jit
    compiled.train()
    with lm.no_grad():  # dropout again: the jitted program is guarded on training
        assert (compiled(lm.tensor(X)).numpy() == 0).mean() > 0.5


def test_compile_spellings():
    @lm.compile
    def double(a):
        return a * 2

    @lm.compile(mode="max-autotune", fullgraph=True, dynamic=False)
    def inc(a):
        return a + 1

    x = lm.tensor(X)
    np.testing.assert_array_equal(double(x).numpy(), X * 2)
    np.testing.assert_array_equal(inc(x).numpy(), X + 1)
    model = lm.nn.Linear(4, 2)
    assert lm.compile(model, disable=True) is model
    compiled = lm.compile(model, backend="c")
    assert isinstance(compiled, lm.nn.Module) and compiled.in_features == 4
    assert len(list(compiled.parameters())) == 2
    x.requires_grad_()
    double(x).sum().backward()  # a differentiable call stays differentiable
    np.testing.assert_array_equal(x.grad.numpy(), np.full_like(X, 2))


@pytest.mark.parametrize("backend", ["c", "interp"])
def test_compiled_function_gives_the_eager_result(backend):
    fn = lm.compile(lambda a, b: (a @ b).relu().sum(0), backend=backend)
    a, b = lm.tensor(X), lm.tensor(X.T.copy())
    np.testing.assert_allclose(fn(a, b).numpy(), np.maximum(X @ X.T, 0).sum(0), rtol=1e-5)
