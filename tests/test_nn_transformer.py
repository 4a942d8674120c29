"""Transformer layers against torch with the same weights (state_dicts load both ways):
encoder/decoder layers (post- and pre-norm, masks, padding masks, is_causal), stacks,
the full Transformer, gradients, and a jitted forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm

rng = np.random.default_rng(0)


def _load(m_lm, m_t):
    assert list(m_lm.state_dict()) == list(m_t.state_dict())
    m_t.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in m_lm.state_dict().items()})
    m_lm.eval()
    m_t.eval()


def _close(got, want, tol=2e-5):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else want
    np.testing.assert_allclose(np.asarray(got), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_stack_matches_torch(norm_first, activation):
    kw = dict(dim_feedforward=16, dropout=0.1, activation=activation, batch_first=True,
              norm_first=norm_first)
    m_lm = lm.nn.TransformerEncoder(lm.nn.TransformerEncoderLayer(8, 2, **kw), 2,
                                    lm.nn.LayerNorm(8))
    m_t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, **kw), 2,
                                      torch.nn.LayerNorm(8), enable_nested_tensor=False)
    _load(m_lm, m_t)
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    pad = np.array([[False] * 5, [False, False, False, True, True]])
    _close(m_lm(lm.tensor(x), src_key_padding_mask=lm.tensor(pad)),
           m_t(torch.tensor(x), src_key_padding_mask=torch.tensor(pad)))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(
        np.asarray(lm.nn.Transformer.generate_square_subsequent_mask(5)), mask.numpy())
    _close(m_lm(lm.tensor(x), mask=lm.tensor(mask.numpy()), is_causal=True),
           m_t(torch.tensor(x), mask=mask, is_causal=True))


def test_full_transformer_and_gradients():
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
              dim_feedforward=12, dropout=0.0)
    m_lm, m_t = lm.nn.Transformer(**kw), torch.nn.Transformer(**kw)
    _load(m_lm, m_t)
    src = rng.standard_normal((6, 2, 8)).astype(np.float32)  # (S, N, E): batch_first=False
    tgt = rng.standard_normal((4, 2, 8)).astype(np.float32)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(4)
    src_l = lm.tensor(src, requires_grad=True)
    src_t = torch.tensor(src, requires_grad=True)
    out_l = m_lm(src_l, lm.tensor(tgt), tgt_mask=lm.tensor(mask.numpy()))
    out_t = m_t(src_t, torch.tensor(tgt), tgt_mask=mask)
    _close(out_l, out_t)
    w = rng.uniform(0.5, 1.5, out_t.shape).astype(np.float32)
    (out_l * w).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    _close(src_l.grad, src_t.grad, 1e-4)
    for p_l, p_t in zip(m_lm.parameters(), m_t.parameters(), strict=True):
        _close(p_l.grad, p_t.grad, 1e-4)


def test_decoder_layer_pre_norm_jitted():
    kw = dict(dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=True)
    m_lm = lm.nn.TransformerDecoderLayer(8, 4, **kw)
    m_t = torch.nn.TransformerDecoderLayer(8, 4, **kw)
    _load(m_lm, m_t)
    tgt = rng.standard_normal((2, 3, 8)).astype(np.float32)
    mem = rng.standard_normal((2, 5, 8)).astype(np.float32)
    got = lm.jit(lambda a, b: m_lm(a, b, tgt_is_causal=True,
                                   tgt_mask=lm.nn.Transformer.generate_square_subsequent_mask(3)),
                 backend="c")(tgt, mem)
    want = m_t(torch.tensor(tgt), torch.tensor(mem), tgt_is_causal=True,
               tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(3))
    _close(got, want)


def test_encoder_clones_are_independent():
    layer = lm.nn.TransformerEncoderLayer(4, 2, 8)
    stack = lm.nn.TransformerEncoder(layer, 3)
    weights = [layer_.linear1.weight for layer_ in stack.layers]
    assert len({id(w) for w in weights}) == 3
    np.testing.assert_array_equal(np.asarray(weights[0]), np.asarray(weights[2]))
