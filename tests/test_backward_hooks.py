"""Tensor.register_hook and Module.register_full_backward_(pre_)hook against torch:
hooks see concrete gradients eagerly (values logged equal torch's), replacements change
the gradients as in torch, handles remove them, and under lm.jit the same hooks are
part of the compiled backward."""

import numpy as np
import pytest
import torch

import lamina as lm

RNG = np.random.RandomState(0)
X = RNG.randn(4, 3).astype(np.float32)


def _rounded(t):
    return None if t is None else round(float(t.sum().item()), 4)


def _tensor_hooks(mod):
    x = mod.tensor(X, requires_grad=True)
    log = []
    x.register_hook(lambda g: g * 2)
    y = (x * x).tanh()
    y.register_hook(lambda g: log.append(_rounded(g)))
    handle = y.register_hook(lambda g: g + 1)
    (y * 3).sum().backward(retain_graph=True)
    first = x.grad.numpy().copy()
    handle.remove()
    x.grad = None
    (y ** 2).sum().backward()
    return log, first, x.grad.numpy()


def test_tensor_hooks_match_torch():
    ours, ref = _tensor_hooks(lm), _tensor_hooks(torch)
    assert ours[0] == pytest.approx(ref[0], rel=1e-5)
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-5)
    np.testing.assert_allclose(ours[2], ref[2], rtol=1e-5)


def test_tensor_hook_needs_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        lm.ones(2).register_hook(lambda g: g)


def test_tensor_hooks_under_jit():
    w = lm.tensor(X, requires_grad=True)
    w.register_hook(lambda g: g.clamp(-0.5, 0.5))

    @lm.jit
    def step():
        h = (w * 3).sin()
        h.register_hook(lambda g: g * 10)
        h.sum().backward()

    step()
    expected = np.clip(10 * 3 * np.cos(3 * X), -0.5, 0.5)
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-5)


def _module_hooks(mod, inputs_need_grad):
    torch.manual_seed(0)
    ref = torch.nn.Bilinear(3, 3, 2)
    m = mod.nn.Bilinear(3, 3, 2)
    m.load_state_dict({k: mod.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    log = []
    m.register_full_backward_pre_hook(lambda _, go: (go[0] * 2,))
    m.register_full_backward_hook(
        lambda _, gi, go: log.append((len(gi), [_rounded(g) for g in gi], _rounded(go[0]))))
    m.register_full_backward_hook(
        lambda _, gi, go: None if gi[0] is None else (gi[0] * 0.5, gi[1]))
    a = mod.tensor(X, requires_grad=inputs_need_grad)
    b = mod.tensor(X[::-1].copy(), requires_grad=True)
    y = m(a, b)
    (y * y).sum().backward()
    grads = [None if t.grad is None else t.grad.numpy() for t in (a, b, m.weight)]
    return log, grads


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("inputs_need_grad", [True, False])
def test_module_hooks_match_torch(inputs_need_grad):
    (log, grads), (log_ref, grads_ref) = (_module_hooks(lm, inputs_need_grad),
                                          _module_hooks(torch, inputs_need_grad))
    assert len(log) == len(log_ref) == 1
    assert log[0][0] == log_ref[0][0]
    assert log[0][1] == pytest.approx(log_ref[0][1], rel=1e-4)
    assert log[0][2] == pytest.approx(log_ref[0][2], rel=1e-4)
    for g, r in zip(grads, grads_ref, strict=True):
        assert (g is None) == (r is None)
        if g is not None:
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)


def test_module_hook_under_jit_and_removal():
    m = lm.nn.Linear(3, 2)
    handle = m.register_full_backward_hook(lambda _, gi, go: (gi[0] * 0,))
    x = lm.tensor(X, requires_grad=True)

    @lm.jit
    def step(x):
        m(x).sum().backward()
        return x.grad

    x.grad = None
    m(x).sum().backward()
    assert not np.any(x.grad.numpy())
    handle.remove()
    x.grad = None
    m(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.tile(m.weight.numpy().sum(0), (4, 1)),
                               rtol=1e-6)
