"""Eager mode must never change results: the eager graph's internal boundaries (a new
segment past `_EAGER_MAX_OPS`, another thread's graph) keep the autograd tape, and
the torch-facing details of training loops (`.data`, leaves, `lm.Tensor`, tied
weights in state dicts) behave as torch's. Issue 15, item 0."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm
import lamina.nn as nn
import lamina.nn.functional as F
from lamina.frontend import graph as graphs


@pytest.fixture
def small_segments(monkeypatch):
    """Eager graphs start a new segment every few dozen ops (20,000 by default)."""
    monkeypatch.setattr(graphs, "_EAGER_MAX_OPS", 25)


def _next_segment(filler):
    """Ops no gradient flows through, up to the start of the next eager segment."""
    segment = graphs.eager_graph()
    while graphs.eager_graph() is segment:
        filler = filler + 1.0
    return filler


def _mlp_pair(seed: int = 0):
    torch.manual_seed(seed)
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16),
                                 torch.nn.GELU(), torch.nn.Linear(16, 4))
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.GELU(),
                          nn.Linear(16, 4))
    model.load_state_dict(tmodel.state_dict())
    return model, tmodel


def test_training_across_segment_boundaries_matches_torch(small_segments):
    model, tmodel = _mlp_pair()
    opt = lm.optim.Adam(model.parameters(), lr=0.01)
    topt = torch.optim.Adam(tmodel.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    segments = []
    for _ in range(3):
        x = rng.standard_normal((5, 6)).astype(np.float32)
        y = rng.integers(0, 4, 5)
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        segments.append(graphs.eager_graph())
        loss.backward()
        assert all(p.grad is not None for p in model.parameters())
        opt.step()
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y))
        tloss.backward()
        topt.step()
        assert float(loss) == pytest.approx(float(tloss), rel=1e-5, abs=1e-6)
    assert len(set(segments)) == 3  # each step's forward crossed the boundary
    for p, tp in zip(model.parameters(), tmodel.parameters(), strict=True):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_a_shared_weight_gets_the_gradient_of_every_segment(small_segments):
    rng = np.random.default_rng(1)
    w0 = (rng.standard_normal((4, 4)) * 0.5).astype(np.float32)
    h0 = rng.standard_normal((3, 4)).astype(np.float32)
    w = lm.tensor(w0, requires_grad=True)
    tw = torch.tensor(w0, requires_grad=True)
    segments = []
    h, th = lm.tensor(h0), torch.tensor(h0)
    for _ in range(40):
        h = lm.tanh(h @ w) + h * 0.5
        th = torch.tanh(th @ tw) + th * 0.5
        segments.append(graphs.eager_graph())
    (h * h).sum().backward()
    (th * th).sum().backward()
    assert len(set(segments)) >= 5
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_values_linked_from_several_later_segments(small_segments):
    x = lm.tensor(np.array([1.0, 2.0, 3.0], np.float32), requires_grad=True)
    a, b = x * 2.0, x.exp()
    filler = _next_segment(lm.zeros(3))
    c = a * b
    _next_segment(filler)
    loss = (c + a * a + b.sum()).sum()
    loss.backward()
    xs = np.array([1.0, 2.0, 3.0])
    expected = 2 * np.exp(xs) + 2 * xs * np.exp(xs) + 8 * xs + 3 * np.exp(xs)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-5)


def test_custom_vjp_across_a_segment_boundary(small_segments):
    @lm.custom_vjp
    def clip_grad(x):
        return x * 1.0

    clip_grad.defvjp(lambda x: (x * 1.0, None), lambda res, ct: (ct.clamp(-0.5, 0.5),))
    x = lm.tensor(np.array([1.0, -2.0], np.float32), requires_grad=True)
    y = clip_grad(x * 3.0)
    _next_segment(lm.zeros(2))
    (y * 10.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.5, 1.5])


def test_data_is_a_view_of_the_tensor_without_gradient_history():
    p = lm.tensor(np.ones(3, np.float32), requires_grad=True)
    p.data.add_(1.0)
    np.testing.assert_array_equal(p.numpy(), [2.0, 2.0, 2.0])
    assert p.is_leaf and p.requires_grad
    d = p.data
    assert not d.requires_grad and d.is_leaf and d.grad is None
    p.data.mul_(3.0)
    np.testing.assert_array_equal(d.numpy(), [6.0, 6.0, 6.0])  # the view reads p's value
    a = lm.tensor(np.ones(2, np.float32), requires_grad=True)
    b = lm.tensor(np.full(2, 3.0, np.float32), requires_grad=True)
    (a.data * b * a).sum().backward()  # no gradient through a.data
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])

    @lm.jit
    def halve():
        p.data.mul_(0.5)

    halve()
    np.testing.assert_array_equal(p.numpy(), [3.0, 3.0, 3.0])


def test_sgd_by_hand_through_data_matches_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = rng.standard_normal(8).astype(np.float32)
    w0 = rng.standard_normal(3).astype(np.float32)
    w, tw = lm.tensor(w0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    for _ in range(4):
        loss = ((lm.tensor(x) @ w - lm.tensor(y)) ** 2).mean()
        loss.backward()
        w.data.add_(w.grad * -0.1)
        w.grad = None
        tloss = ((torch.tensor(x) @ tw - torch.tensor(y)) ** 2).mean()
        tloss.backward()
        tw.data.add_(tw.grad * -0.1)
        tw.grad = None
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-5)
    assert not np.allclose(w.numpy(), w0)


@pytest.mark.parametrize("make", [
    lambda: lm.randn(3), lambda: lm.rand(3), lambda: lm.zeros(3), lambda: lm.ones(3) * 2.0,
    lambda: lm.randn(3).detach()])
def test_results_no_gradient_flows_through_are_leaves(make):
    t = make().requires_grad_()
    assert t.is_leaf and t.requires_grad
    (t * t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), 2 * t.numpy(), rtol=1e-6)


def test_results_of_differentiable_ops_are_not_leaves():
    w = lm.randn(3).requires_grad_()
    y = w * 2.0
    assert not y.is_leaf and y.requires_grad
    assert (w.detach() * 2.0).is_leaf


@pytest.mark.parametrize("args", [([0],), ([1.5, 2],), (np.array([1, 2]),), (np.array(2.5),),
                                  ([True],), (2, 3), (4,), ()])
def test_tensor_constructor_is_torchs_legacy_constructor(args):
    t, tt = lm.Tensor(*args), torch.Tensor(*args)
    assert t.dtype == lm.float32 and t.shape == tuple(tt.shape)
    if tt.numel() and args and not isinstance(args[0], int):
        np.testing.assert_array_equal(t.numpy(), tt.numpy())


def test_tensor_constructor_rejects_what_torch_rejects_and_tensor_infers():
    with pytest.raises(TypeError, match="must be a sequence"):
        lm.Tensor(2.5)
    assert lm.tensor([0]).dtype == lm.int64
    assert lm.Tensor(lm.tensor([1, 2])).dtype == lm.int64  # torch.Tensor(t) is t's data


class _Block(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        return x + self.fc(self.ln(x)).relu()


class _TinyGPT(nn.Module):
    def __init__(self, vocab: int = 11, d: int = 8):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.h = nn.Sequential(_Block(d), _Block(d))
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying, as nanoGPT

    def forward(self, idx):
        return self.lm_head(self.h(self.wte(idx)))


class _TorchBlock(torch.nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.ln = torch.nn.LayerNorm(d)
        self.fc = torch.nn.Linear(d, d)

    def forward(self, x):
        return x + self.fc(self.ln(x)).relu()


class _TorchTinyGPT(torch.nn.Module):
    def __init__(self, vocab: int = 11, d: int = 8):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab, d)
        self.h = torch.nn.Sequential(_TorchBlock(d), _TorchBlock(d))
        self.lm_head = torch.nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx):
        return self.lm_head(self.h(self.wte(idx)))


def test_state_dict_of_tied_weights_follows_torch():
    torch.manual_seed(0)
    tmodel, model = _TorchTinyGPT(), _TinyGPT()
    assert list(model.state_dict()) == list(tmodel.state_dict())  # both names of the tie
    model.load_state_dict(tmodel.state_dict())
    assert model.lm_head.weight is model.wte.weight
    idx = np.array([[1, 5, 7, 10]])
    np.testing.assert_allclose(model(idx).numpy(), tmodel(torch.tensor(idx)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    own = {k: v * 2.0 for k, v in model.state_dict().items()}
    assert model.load_state_dict(own) == ([], [])  # lamina's own state dict loads back
    np.testing.assert_allclose(model.wte.weight.numpy(), own["wte.weight"])
    del own["lm_head.weight"]
    with pytest.raises(lm.ArgumentError, match="lm_head.weight"):  # torch: a missing key
        model.load_state_dict(own)
    assert model.load_state_dict(own, strict=False).missing_keys == ["lm_head.weight"]
    tmodel.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})


@pytest.mark.slow
def test_eager_training_step_of_100k_ops_matches_torch(monkeypatch):
    """A residual network of 25,000 layers, one training step eagerly: ~100,000 ops
    recorded (five segments of the eager tape at the default size), `.backward()`,
    an SGD step. The interpreter runs it (the compile of 20,000-op programs is not
    what this checks, nor is the verification of each pass on them)."""
    monkeypatch.setenv("LAMINA_BACKEND", "interp")
    monkeypatch.setenv("LAMINA_VERIFY", "0")
    layers = 25_000
    rng = np.random.default_rng(0)
    weights = [(rng.standard_normal((4, 4)) * 0.5).astype(np.float32) for _ in range(layers)]
    x0 = rng.standard_normal((2, 4)).astype(np.float32)
    params = [lm.tensor(w, requires_grad=True) for w in weights]
    tparams = [torch.tensor(w, requires_grad=True) for w in weights]
    segments = set()
    h, th = lm.tensor(x0), torch.tensor(x0)
    for i, (w, tw) in enumerate(zip(params, tparams, strict=True)):
        h = h + lm.tanh(h @ w) * 0.01
        th = th + torch.tanh(th @ tw) * 0.01
        if i % 1000 == 0:
            segments.add(graphs.eager_graph())
    loss, tloss = (h * h).mean(), (th * th).mean()
    assert len(segments) >= 4
    opt = lm.optim.SGD(params, lr=0.5)
    loss.backward()
    opt.step()
    tloss.backward()
    torch.optim.SGD(tparams, lr=0.5).step()
    assert float(loss) == pytest.approx(float(tloss), rel=1e-5)
    assert all(p.grad is not None for p in params)
    for p, tp in zip(params, tparams, strict=True):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-7)


def test_a_leaf_made_inside_jit_gets_its_grad():
    @lm.jit
    def f(x):
        w = (lm.zeros(3) + 2.0).requires_grad_()
        (w * x).sum().backward()
        return w.grad

    np.testing.assert_array_equal(f(np.array([1.0, 2.0, 3.0], np.float32)).numpy(), [1, 2, 3])
