"""RNN / LSTM / GRU and their cells against torch with the same weights: outputs, final
states, gradients, initial states, unbatched and batch_first inputs, packed sequences
(pack_padded_sequence / pad_packed_sequence / pack_sequence), jitted."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm

rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _eager_on_the_interpreter(monkeypatch):
    """The time loop is unrolled, so eager programs (and their gradients) are long: the
    interpreter runs them without a C compile each. The compiled path is tested by the
    jitted training step below (on C) and in make test-slow."""
    monkeypatch.setenv("LAMINA_BACKEND", "interp")


def _twin(name, *args, **kwargs):
    m_lm, m_t = getattr(lm.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert list(m_lm.state_dict()) == list(m_t.state_dict())
    m_t.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in m_lm.state_dict().items()})
    return m_lm, m_t


def _close(got, want, tol=2e-5):
    if isinstance(want, tuple):
        for g, w in zip(got, want, strict=True):
            _close(g, w, tol)
        return
    np.testing.assert_allclose(np.asarray(got), want.detach().numpy(), rtol=tol, atol=tol)


CASES = [
    ("RNN", {}), ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
    ("RNN", {"bidirectional": True, "batch_first": True}),
    ("LSTM", {}),
    pytest.param("LSTM", {"num_layers": 2, "bidirectional": True}, marks=pytest.mark.slow),
    ("LSTM", {"proj_size": 3, "batch_first": True}), ("LSTM", {"bias": False}),
    ("GRU", {}),
    pytest.param("GRU", {"num_layers": 3, "bidirectional": True, "batch_first": True},
                 marks=pytest.mark.slow),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name,kw", CASES, ids=lambda v: str(v))
def test_recurrent_layer_matches_torch(name, kw):
    m_lm, m_t = _twin(name, 4, 5, **kw)
    shape = (2, 6, 4) if kw.get("batch_first") else (6, 2, 4)
    x = rng.standard_normal(shape).astype(np.float32)
    xl, xt = lm.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_l, state_l = m_lm(xl)
    out_t, state_t = m_t(xt)
    _close(out_l, out_t)
    _close(state_l, state_t)
    w = rng.uniform(0.5, 1.5, tuple(out_t.shape)).astype(np.float32)
    (out_l * w).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    _close(xl.grad, xt.grad, 1e-4)
    for p_l, p_t in zip(m_lm.parameters(), m_t.parameters(), strict=True):
        _close(p_l.grad, p_t.grad, 1e-4)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_initial_states_and_unbatched_inputs():
    m_lm, m_t = _twin("LSTM", 3, 4, num_layers=2)
    x = rng.standard_normal((5, 3)).astype(np.float32)  # unbatched (L, H_in)
    h0 = rng.standard_normal((2, 4)).astype(np.float32)
    c0 = rng.standard_normal((2, 4)).astype(np.float32)
    got = m_lm(lm.tensor(x), (lm.tensor(h0), lm.tensor(c0)))
    want = m_t(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)))
    _close(got[0], want[0])
    _close(got[1], want[1])
    g_lm, g_t = _twin("GRU", 3, 4)
    h = rng.standard_normal((1, 2, 4)).astype(np.float32)
    xb = rng.standard_normal((5, 2, 3)).astype(np.float32)
    _close(g_lm(lm.tensor(xb), lm.tensor(h))[1], g_t(torch.tensor(xb), torch.tensor(h))[1])


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(name):
    m_lm, m_t = _twin(name, 3, 4)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    _close(m_lm(lm.tensor(x)), m_t(torch.tensor(x)))
    state = m_t(torch.tensor(x))
    state_l = tuple(lm.tensor(s.detach().numpy()) for s in state) if isinstance(state, tuple) \
        else lm.tensor(state.detach().numpy())
    _close(m_lm(lm.tensor(x[0]), tuple(s[0] for s in state_l) if isinstance(state_l, tuple)
                else state_l[0]),
           m_t(torch.tensor(x[0]), tuple(s[0] for s in state) if isinstance(state, tuple)
               else state[0]))


@pytest.mark.parametrize("name,kw", [("LSTM", {"bidirectional": True}),
                                     ("GRU", {"num_layers": 2, "batch_first": True}),
                                     ("RNN", {})], ids=lambda v: str(v))
def test_packed_sequences_match_torch(name, kw):
    m_lm, m_t = _twin(name, 3, 4, **kw)
    lengths = [4, 6, 2]
    bf = kw.get("batch_first", False)
    x = rng.standard_normal((3, 6, 3) if bf else (6, 3, 3)).astype(np.float32)
    U = lm.nn.utils.rnn
    T = torch.nn.utils.rnn
    packed_l = U.pack_padded_sequence(lm.tensor(x), lengths, batch_first=bf,
                                      enforce_sorted=False)
    packed_t = T.pack_padded_sequence(torch.tensor(x), lengths, batch_first=bf,
                                      enforce_sorted=False)
    _close(packed_l.data, packed_t.data)
    np.testing.assert_array_equal(np.asarray(packed_l.batch_sizes), packed_t.batch_sizes)
    out_l, state_l = m_lm(packed_l)
    out_t, state_t = m_t(packed_t)
    _close(out_l.data, out_t.data)
    _close(state_l, state_t)
    pad_l, len_l = U.pad_packed_sequence(out_l, batch_first=bf, total_length=7)
    pad_t, len_t = T.pad_packed_sequence(out_t, batch_first=bf, total_length=7)
    _close(pad_l, pad_t)
    np.testing.assert_array_equal(np.asarray(len_l), len_t.numpy())
    seqs = [rng.standard_normal((n, 3)).astype(np.float32) for n in (5, 3, 1)]
    _close(U.pack_sequence([lm.tensor(s) for s in seqs]).data,
           T.pack_sequence([torch.tensor(s) for s in seqs]).data)
    with pytest.raises(RuntimeError):
        U.pack_padded_sequence(lm.tensor(x), lengths, batch_first=bf)  # not sorted


def test_lstm_training_step_under_jit():
    m_lm, m_t = _twin("LSTM", 3, 4, batch_first=True)
    head_lm, head_t = _twin("Linear", 4, 2)
    params_lm = list(m_lm.parameters()) + list(head_lm.parameters())
    opt_lm = lm.optim.SGD(params_lm, lr=0.1)
    opt_t = torch.optim.SGD(list(m_t.parameters()) + list(head_t.parameters()), lr=0.1)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    y = rng.standard_normal((2, 2)).astype(np.float32)

    def step(x, y):
        opt_lm.zero_grad()
        out, _ = m_lm(x)
        loss = lm.nn.functional.mse_loss(head_lm(out[:, -1]), y)
        loss.backward()
        opt_lm.step()
        return loss

    step = lm.jit(step, backend="c")
    for _ in range(3):
        got = step(x, y)
        opt_t.zero_grad()
        out, _ = m_t(torch.tensor(x))
        loss = torch.nn.functional.mse_loss(head_t(out[:, -1]), torch.tensor(y))
        loss.backward()
        opt_t.step()
        np.testing.assert_allclose(float(got), float(loss), rtol=1e-5)
