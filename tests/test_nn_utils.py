"""nn.utils (gradient clipping, parameter vectors, pad_sequence), the rest of nn.init,
and module hooks / get_submodule, against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm

rng = np.random.default_rng(0)


def _model_pair():
    m_lm = lm.nn.Sequential(lm.nn.Linear(4, 5), lm.nn.Tanh(), lm.nn.Linear(5, 2))
    m_t = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    m_t.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in m_lm.state_dict().items()})
    x = rng.standard_normal((3, 4)).astype(np.float32)
    (m_lm(lm.tensor(x)) ** 2).sum().backward()
    (m_t(torch.tensor(x)) ** 2).sum().backward()
    return m_lm, m_t


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.1, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    m_lm, m_t = _model_pair()
    got = lm.nn.utils.clip_grad_norm_(m_lm.parameters(), max_norm, norm_type)
    want = torch.nn.utils.clip_grad_norm_(m_t.parameters(), max_norm, norm_type)
    np.testing.assert_allclose(float(got), float(want), rtol=1e-5)
    for p_l, p_t in zip(m_lm.parameters(), m_t.parameters(), strict=True):
        np.testing.assert_allclose(np.asarray(p_l.grad), p_t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_value_and_parameter_vectors():
    m_lm, m_t = _model_pair()
    lm.nn.utils.clip_grad_value_(m_lm.parameters(), 0.05)
    torch.nn.utils.clip_grad_value_(m_t.parameters(), 0.05)
    for p_l, p_t in zip(m_lm.parameters(), m_t.parameters(), strict=True):
        np.testing.assert_allclose(np.asarray(p_l.grad), p_t.grad.numpy(), rtol=1e-5, atol=1e-7)
    vec = lm.nn.utils.parameters_to_vector(m_lm.parameters())
    np.testing.assert_allclose(np.asarray(vec), torch.nn.utils.parameters_to_vector(
        m_t.parameters()).detach().numpy())
    lm.nn.utils.vector_to_parameters(vec * 2, m_lm.parameters())
    np.testing.assert_allclose(np.asarray(m_lm[0].weight), m_t[0].weight.detach().numpy() * 2)


def test_clip_grad_norm_inside_jit():
    m_lm, m_t = _model_pair()
    opt = lm.optim.SGD(m_lm.parameters(), lr=0.1)
    x = rng.standard_normal((3, 4)).astype(np.float32)

    @lm.jit
    def step(x):
        opt.zero_grad()
        loss = (m_lm(x) ** 2).sum()
        loss.backward()
        norm = lm.nn.utils.clip_grad_norm_(m_lm.parameters(), 0.5)
        opt.step()
        return norm

    opt_t = torch.optim.SGD(m_t.parameters(), lr=0.1)
    for _ in range(3):
        norm = step(x)
        opt_t.zero_grad()
        (m_t(torch.tensor(x)) ** 2).sum().backward()
        want = torch.nn.utils.clip_grad_norm_(m_t.parameters(), 0.5)
        opt_t.step()
        np.testing.assert_allclose(float(norm), float(want), rtol=1e-5)
    for p_l, p_t in zip(m_lm.parameters(), m_t.parameters(), strict=True):
        np.testing.assert_allclose(np.asarray(p_l), p_t.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_pad_sequence_matches_torch():
    seqs = [rng.standard_normal((n, 3)).astype(np.float32) for n in (4, 1, 3)]
    for batch_first in (False, True):
        for side in ("right", "left"):
            got = lm.nn.utils.rnn.pad_sequence([lm.tensor(s) for s in seqs], batch_first, -1.0,
                                               side)
            want = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs],
                                                   batch_first, -1.0, side)
            np.testing.assert_array_equal(np.asarray(got), want.numpy())


def test_init_functions():
    w = lm.nn.Parameter(np.zeros((6, 4), np.float32))
    lm.nn.init.orthogonal_(w, gain=2.0)
    a = np.asarray(w)
    np.testing.assert_allclose(a.T @ a, 4 * np.eye(4), atol=1e-5)
    lm.nn.init.eye_(w)
    np.testing.assert_array_equal(np.asarray(w), np.eye(6, 4))
    k = lm.nn.Parameter(np.zeros((4, 2, 3, 3), np.float32))
    lm.nn.init.dirac_(k, groups=2)
    want = torch.zeros(4, 2, 3, 3)
    torch.nn.init.dirac_(want, groups=2)
    np.testing.assert_array_equal(np.asarray(k), want.numpy())
    s = lm.nn.Parameter(np.zeros((10, 3), np.float32))
    lm.nn.init.sparse_(s, 0.3)
    assert ((np.asarray(s) == 0).sum(0) >= 3).all()


def test_forward_hooks_and_submodules():
    m = lm.nn.Sequential(lm.nn.Linear(3, 4), lm.nn.ReLU(), lm.nn.Linear(4, 1))
    seen = []
    handle = m[0].register_forward_hook(lambda mod, args, out: seen.append(tuple(out.shape)))
    pre = m[2].register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    out = m(lm.randn(2, 3))
    assert seen == [(2, 4)]
    np.testing.assert_allclose(np.asarray(out), np.broadcast_to(np.asarray(m[2].bias), (2, 1)))
    handle.remove()
    pre.remove()
    m(lm.randn(2, 3))
    assert seen == [(2, 4)]
    replaced = m.register_forward_hook(lambda mod, args, out: out + 1)
    x = lm.randn(2, 3)
    before = np.asarray(m(x))
    replaced.remove()
    np.testing.assert_allclose(before, np.asarray(m(x)) + 1, rtol=1e-6)
    assert m.get_submodule("2") is m[2] and m.get_parameter("0.weight") is m[0].weight
    with pytest.raises(AttributeError):
        m.get_submodule("5")
