"""EmbeddingBag against torch: modes, 2-D inputs, offsets (with empty bags and
include_last_offset), per_sample_weights, padding_idx, gradients, offsets as data under
lm.jit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm

rng = np.random.default_rng(0)


def _twin(**kw):
    m_lm = lm.nn.EmbeddingBag(7, 3, **kw)
    m_t = torch.nn.EmbeddingBag(7, 3, **kw)
    m_t.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in m_lm.state_dict().items()})
    return m_lm, m_t


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("layout", ["2d", "offsets", "last_offset", "padding"])
def test_embedding_bag_matches_torch(mode, layout):
    kw = {"mode": mode}
    if layout == "last_offset":
        kw["include_last_offset"] = True
    if layout == "padding":
        kw["padding_idx"] = 2
    m_lm, m_t = _twin(**kw)
    if layout == "2d":
        args = (np.array([[1, 2, 4], [4, 3, 2]]),)
    else:
        idx = np.array([1, 2, 4, 5, 2, 6, 0, 2])
        offsets = np.array([0, 2, 2, 5] + ([8] if layout == "last_offset" else []))
        args = (idx, offsets)  # bag 1 is empty
    out_l = m_lm(*(lm.tensor(a) for a in args))
    out_t = m_t(*(torch.tensor(a) for a in args))
    np.testing.assert_allclose(np.asarray(out_l), out_t.detach().numpy(), rtol=1e-6, atol=1e-7)
    w = rng.uniform(0.5, 1.5, tuple(out_t.shape)).astype(np.float32)
    (out_l * w).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(np.asarray(m_lm.weight.grad), m_t.weight.grad.numpy(),
                               rtol=1e-6, atol=1e-7)


def test_per_sample_weights_and_jitted_offsets():
    m_lm, m_t = _twin(mode="sum")
    idx, offsets = np.array([1, 2, 4, 5, 2, 6]), np.array([0, 1, 4])
    psw = rng.standard_normal(6).astype(np.float32)
    want = m_t(torch.tensor(idx), torch.tensor(offsets), torch.tensor(psw)).detach().numpy()
    got = m_lm(lm.tensor(idx), lm.tensor(offsets), lm.tensor(psw))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    jitted = lm.jit(lambda i, o, w: m_lm(i, o, w), backend="c")
    np.testing.assert_allclose(np.asarray(jitted(idx, offsets, psw)), want, rtol=1e-6)
    other = np.array([0, 3, 3])
    np.testing.assert_allclose(np.asarray(jitted(idx, other, psw)), m_t(
        torch.tensor(idx), torch.tensor(other), torch.tensor(psw)).detach().numpy(), rtol=1e-6)
    with pytest.raises(ValueError):
        m_lm.mode = "mean"
        m_lm(lm.tensor(idx), lm.tensor(offsets), lm.tensor(psw))
