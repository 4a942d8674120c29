"""lm.nn and lm.nn.functional against torch: values and gradients of every
functional, layers with torch's weights loaded, Module bookkeeping, state_dict
round trips, initializations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lamina as lm
import lamina.nn as nn
import lamina.nn.functional as F

TF = torch.nn.functional


def _grads_match(lm_fn, torch_fn, arrays, wrt=(0,), rtol=1e-4, atol=1e-5):
    """Value and gradient (of sum(out * w) for a fixed random w) equal torch's."""
    out = np.asarray(lm.jit(lm_fn)(*arrays))
    t_args = [torch.tensor(a, requires_grad=i in wrt and a.dtype.kind == "f")
              for i, a in enumerate(arrays)]
    t_out = torch_fn(*t_args)
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=rtol, atol=atol)
    weight = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)

    def scalar(*xs):
        return (lm_fn(*xs) * lm.tensor(weight)).sum()

    grads = lm.grad(scalar, argnums=tuple(wrt))(*arrays)
    (t_out * torch.tensor(weight)).sum().backward()
    for g, i in zip(grads, wrt, strict=True):
        np.testing.assert_allclose(np.asarray(g), t_args[i].grad.numpy(), rtol=rtol, atol=atol)


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------- functional table

LOGITS = _rand(4, 5)
TARGET = np.array([1, 0, 4, 2], np.int64)
PROBS = np.abs(_rand(4, 5, seed=3))
PROBS /= PROBS.sum(1, keepdims=True)
CLASS_W = np.array([0.5, 1.0, 2.0, 1.5, 0.7], np.float32)

FUNCTIONAL = {
    "relu": (F.relu, TF.relu, [_rand(3, 4)]),
    "gelu": (F.gelu, TF.gelu, [_rand(3, 4)]),
    "gelu-tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: TF.gelu(x, approximate="tanh"), [_rand(3, 4)]),
    "silu": (F.silu, TF.silu, [_rand(3, 4)]),
    "sigmoid": (F.sigmoid, torch.sigmoid, [_rand(3, 4)]),
    "tanh": (F.tanh, torch.tanh, [_rand(3, 4)]),
    "softmax": (lambda x: F.softmax(x, dim=-1), lambda x: TF.softmax(x, dim=-1), [_rand(3, 4) * 30]),
    "softmax-dim0": (lambda x: F.softmax(x, 0), lambda x: TF.softmax(x, 0), [_rand(3, 4)]),
    "log_softmax": (lambda x: F.log_softmax(x, 1), lambda x: TF.log_softmax(x, 1),
                    [_rand(3, 4) * 30]),
    "normalize": (F.normalize, TF.normalize, [_rand(3, 4)]),
    "linear": (F.linear, TF.linear, [_rand(2, 3, 4), _rand(5, 4, seed=1), _rand(5, seed=2)],
               (0, 1, 2)),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b),
                   lambda x, w, b: TF.layer_norm(x, (4,), w, b),
                   [_rand(3, 4), _rand(4, seed=1), _rand(4, seed=2)], (0, 1, 2)),
    "layer_norm-2d": (lambda x: F.layer_norm(x, (3, 4)), lambda x: TF.layer_norm(x, (3, 4)),
                      [_rand(2, 3, 4)]),
    "mse_loss": (F.mse_loss, TF.mse_loss, [_rand(3, 4), _rand(3, 4, seed=1)], (0, 1)),
    "mse_loss-none": (lambda a, b: F.mse_loss(a, b, reduction="none"),
                      lambda a, b: TF.mse_loss(a, b, reduction="none"),
                      [_rand(3, 4), _rand(3, 4, seed=1)]),
    "l1_loss-sum": (lambda a, b: F.l1_loss(a, b, reduction="sum"),
                    lambda a, b: TF.l1_loss(a, b, reduction="sum"),
                    [_rand(3, 4), _rand(3, 4, seed=1)]),
    "cross_entropy": (F.cross_entropy, TF.cross_entropy, [LOGITS, TARGET]),
    "cross_entropy-sum": (lambda x, t: F.cross_entropy(x, t, reduction="sum"),
                          lambda x, t: TF.cross_entropy(x, t, reduction="sum"), [LOGITS, TARGET]),
    "cross_entropy-none": (lambda x, t: F.cross_entropy(x, t, reduction="none"),
                           lambda x, t: TF.cross_entropy(x, t, reduction="none"),
                           [LOGITS, TARGET]),
    "cross_entropy-weight": (lambda x, t, w: F.cross_entropy(x, t, weight=w),
                             lambda x, t, w: TF.cross_entropy(x, t, weight=w),
                             [LOGITS, TARGET, CLASS_W]),
    "cross_entropy-ignore": (lambda x, t: F.cross_entropy(x, t, ignore_index=0),
                             lambda x, t: TF.cross_entropy(x, t, ignore_index=0),
                             [LOGITS, TARGET]),
    "cross_entropy-smoothing": (lambda x, t: F.cross_entropy(x, t, label_smoothing=0.2),
                                lambda x, t: TF.cross_entropy(x, t, label_smoothing=0.2),
                                [LOGITS, TARGET]),
    "cross_entropy-smoothing-weight-ignore": (
        lambda x, t, w: F.cross_entropy(x, t, w, ignore_index=2, label_smoothing=0.1),
        lambda x, t, w: TF.cross_entropy(x, t, w, ignore_index=2, label_smoothing=0.1),
        [LOGITS, TARGET, CLASS_W]),
    "cross_entropy-probs": (lambda x, p: F.cross_entropy(x, p, label_smoothing=0.1),
                            lambda x, p: TF.cross_entropy(x, p, label_smoothing=0.1),
                            [LOGITS, PROBS], (0, 1)),
    "cross_entropy-spatial": (F.cross_entropy, TF.cross_entropy,
                              [_rand(2, 5, 3), np.array([[0, 4, 2], [1, 1, 3]], np.int64)]),
    "cross_entropy-1d": (F.cross_entropy, TF.cross_entropy, [_rand(5), np.array(3, np.int64)]),
    "cross_entropy-1d-none": (lambda x, t: F.cross_entropy(x, t, reduction="none"),
                              lambda x, t: TF.cross_entropy(x, t, reduction="none"),
                              [_rand(5), np.array(3, np.int64)]),
    "nll_loss": (lambda x, t: F.nll_loss(F.log_softmax(x, 1), t),
                 lambda x, t: TF.nll_loss(TF.log_softmax(x, 1), t), [LOGITS, TARGET]),
    "binary_cross_entropy": (lambda x, t: F.binary_cross_entropy(F.sigmoid(x), t),
                             lambda x, t: TF.binary_cross_entropy(torch.sigmoid(x), t),
                             [_rand(3, 4), (_rand(3, 4, seed=1) > 0).astype(np.float32)]),
    "bce_with_logits": (F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
                        [_rand(3, 4) * 10, (_rand(3, 4, seed=1) > 0).astype(np.float32)]),
    "bce_with_logits-pos_weight": (
        lambda x, t, pw: F.binary_cross_entropy_with_logits(x, t, pos_weight=pw),
        lambda x, t, pw: TF.binary_cross_entropy_with_logits(x, t, pos_weight=pw),
        [_rand(3, 4), (_rand(3, 4, seed=1) > 0).astype(np.float32), np.abs(_rand(4, seed=2))]),
    "sdpa": (F.scaled_dot_product_attention, TF.scaled_dot_product_attention,
             [_rand(2, 3, 4), _rand(2, 5, 4, seed=1), _rand(2, 5, 6, seed=2)], (0, 1, 2)),
    "sdpa-causal-scale": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
        [_rand(2, 4, 4), _rand(2, 4, 4, seed=1), _rand(2, 4, 4, seed=2)], (0, 1, 2)),
    # at least 128 queries: causal attention runs in blocks of 64 query rows
    "sdpa-causal-blocked": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
        [_rand(2, 150, 8), _rand(2, 150, 8, seed=1), _rand(2, 150, 5, seed=2)], (0, 1, 2)),
    "sdpa-causal-blocked-fewer-keys": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
        [_rand(140, 4), _rand(100, 4, seed=1), _rand(100, 3, seed=2)], (0, 1, 2)),
    "sdpa-causal-blocked-more-keys": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
        [_rand(130, 4), _rand(200, 4, seed=1), _rand(200, 3, seed=2)], (0, 1, 2)),
    "sdpa-bool-mask": (
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m),
        [_rand(3, 4), _rand(5, 4, seed=1), _rand(5, 2, seed=2),
         np.array([[1, 0, 1, 1, 0]] * 3, bool)], (0, 1, 2)),
    "sdpa-float-mask": (
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m),
        [_rand(3, 4), _rand(5, 4, seed=1), _rand(5, 2, seed=2), _rand(3, 5, seed=3)], (0, 1, 2)),
    "embedding": (F.embedding, TF.embedding,
                  [np.array([[0, 2], [3, 2]], np.int64), _rand(4, 3)], (1,)),
    "embedding-padding_idx": (lambda i, w: F.embedding(i, w, padding_idx=2),
                              lambda i, w: TF.embedding(i, w, padding_idx=2),
                              [np.array([[0, 2], [3, 2]], np.int64), _rand(4, 3)], (1,)),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, padding=1),
               lambda x, w, b: TF.conv2d(x, w, b, padding=1),
               [_rand(2, 2, 5, 5), _rand(3, 2, 3, 3, seed=1), _rand(3, seed=2)], (0, 1, 2)),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2),
                   [_rand(1, 2, 4, 4)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), lambda x: TF.avg_pool2d(x, 2),
                   [_rand(1, 2, 4, 4)]),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional_matches_torch(name):
    lm_fn, torch_fn, arrays, *wrt = FUNCTIONAL[name]
    _grads_match(lm_fn, torch_fn, arrays, wrt=wrt[0] if wrt else (0,))


def test_log_softmax_is_stable_for_huge_logits():
    x = np.array([[1e4, 0.0, -1e4]], np.float32)
    out = np.asarray(F.log_softmax(lm.tensor(x), 1))
    np.testing.assert_allclose(out, TF.log_softmax(torch.tensor(x), 1).numpy(), atol=1e-5)


def test_dropout_masks_and_scales():
    x = lm.ones(200, 100)
    np.testing.assert_array_equal(np.asarray(F.dropout(x, 0.3, training=False)), 1.0)
    out = np.asarray(F.dropout(x, 0.3))
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((out == 0).mean() - 0.3) < 0.02
    assert not np.array_equal(out, np.asarray(F.dropout(x, 0.3)))  # a fresh mask per call


def test_dropout_module_follows_train_and_eval():
    drop = nn.Dropout(0.5)
    x = lm.ones(50, 40)
    assert (np.asarray(drop(x)) == 0).any()
    drop.eval()
    np.testing.assert_array_equal(np.asarray(drop(x)), 1.0)


def test_loss_errors_name_the_op_and_shapes():
    with pytest.raises(lm.ShapeError, match=r"cross_entropy.*\[3\].*\[4, 5\]"):
        F.cross_entropy(lm.tensor(LOGITS), lm.tensor(TARGET[:3]))
    with pytest.raises(lm.ArgumentError, match=r"cross_entropy: target 5 is out of range for 5"):
        F.cross_entropy(lm.tensor(LOGITS), lm.tensor(np.array([0, 5, 1, 1])))
    with pytest.raises(lm.ArgumentError, match="reduction"):
        F.mse_loss(lm.ones(2), lm.ones(2), reduction="avg")
    with pytest.raises(lm.ShapeError, match=r"linear.*\[2, 3\].*\[4, 5\]"):
        F.linear(lm.ones(2, 3), lm.ones(4, 5))


# ---------------------------------------------------------------- modules


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 4, 3, padding=1)
        self.blocks = torch.nn.Sequential(torch.nn.Linear(4 * 2 * 2, 8), torch.nn.GELU(),
                                          torch.nn.LayerNorm(8), torch.nn.Linear(8, 3))
        self.heads = torch.nn.ModuleList([torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)])

    def forward(self, x):
        x = TF.max_pool2d(TF.relu(self.conv(x)), 2).flatten(1)
        x = self.blocks(x)
        return self.heads[0](x) + self.heads[1](x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.blocks = nn.Sequential(nn.Linear(4 * 2 * 2, 8), nn.GELU(), nn.LayerNorm(8),
                                    nn.Linear(8, 3))
        self.heads = nn.ModuleList([nn.Linear(3, 2), nn.Linear(3, 2)])

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2).flatten(1)
        x = self.blocks(x)
        return self.heads[0](x) + self.heads[1](x)


def test_parameter_names_shapes_and_state_dict_round_trip_with_torch():
    torch.manual_seed(0)
    tnet, net = TorchNet(), Net()
    t_state = {k: v.detach().numpy() for k, v in tnet.state_dict().items()}
    assert list(net.state_dict()) == list(t_state)
    assert [(n, p.shape) for n, p in net.named_parameters()] == \
           [(n, tuple(p.shape)) for n, p in tnet.named_parameters()]
    net.load_state_dict(t_state)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, t_state[k])
    x = _rand(3, 2, 4, 4)
    np.testing.assert_allclose(np.asarray(net(lm.tensor(x))),
                               tnet(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    # and back: lamina's arrays load into torch
    tnet2 = TorchNet()
    tnet2.load_state_dict({k: torch.tensor(v) for k, v in net.state_dict().items()})
    np.testing.assert_allclose(tnet2(torch.tensor(x)).detach().numpy(),
                               tnet(torch.tensor(x)).detach().numpy())
    # torch tensors are accepted directly
    Net().load_state_dict(tnet.state_dict())


def test_load_state_dict_reports_bad_keys_and_shapes():
    net = nn.Linear(3, 2)
    with pytest.raises(lm.ArgumentError, match="missing keys \\['bias'\\]"):
        net.load_state_dict({"weight": np.zeros((2, 3))})
    assert net.load_state_dict({"weight": np.zeros((2, 3)), "extra": 1}, strict=False) == \
        (["bias"], ["extra"])
    with pytest.raises(lm.ShapeError, match="weight"):
        net.load_state_dict({"weight": np.zeros((3, 3)), "bias": np.zeros(2)})


def test_module_registration_and_traversal():
    net = Net()
    assert [n for n, _ in net.named_children()] == ["conv", "blocks", "heads"]
    assert [n for n, _ in net.named_modules()][:4] == ["", "conv", "blocks", "blocks.0"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert len(list(net.parameters())) == 2 + 6 + 4
    net.extra = nn.Parameter(np.zeros(2, np.float32))
    assert "extra" in dict(net.named_parameters())
    del net.extra
    assert "extra" not in dict(net.named_parameters())
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, shared)
    assert len(list(seq.parameters())) == 2  # shared parameters are listed once
    net.register_buffer("steps", lm.zeros(()))
    assert "steps" in net.state_dict() and "steps" not in dict(net.named_parameters())
    assert isinstance(seq[0], nn.Linear) and len(seq) == 2 and len(seq[:1]) == 1
    assert "Linear(in_features=2, out_features=2, bias=True)" in repr(seq)


def test_train_eval_zero_grad_apply_and_to():
    net = Net()
    assert net.training and net.eval() is net and not net.blocks[0].training
    net.train()
    assert net.heads[1].training
    for p in net.parameters():
        p.grad = lm.ones(*p.shape)
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and "Conv2d" in seen
    net.to(lm.float64)
    assert all(p.dtype == lm.float64 for p in net.parameters())
    assert np.asarray(net(lm.tensor(_rand(1, 2, 4, 4).astype(np.float64)))).dtype == np.float64


def test_default_initialization_follows_torch():
    lin = nn.Linear(50, 40)
    bound = 1 / math.sqrt(50)
    w = lin.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(lin.bias.numpy()).max() <= bound
    conv = nn.Conv2d(3, 8, 3)
    assert np.abs(conv.weight.numpy()).max() <= 1 / math.sqrt(27)
    emb = nn.Embedding(300, 20, padding_idx=1)
    assert abs(emb.weight.numpy().std() - 1) < 0.1 and not emb.weight.numpy()[1].any()
    ln = nn.LayerNorm(5)
    assert (ln.weight.numpy() == 1).all() and (ln.bias.numpy() == 0).all()
    lm.manual_seed(7)
    a = nn.Linear(4, 4).weight.numpy()
    lm.manual_seed(7)
    np.testing.assert_array_equal(a, nn.Linear(4, 4).weight.numpy())


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention_matches_torch(batch_first):
    torch.manual_seed(0)
    tmha = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    mha = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    state = {k: v.detach().numpy() for k, v in tmha.state_dict().items()}
    assert list(mha.state_dict()) == list(state)
    mha.load_state_dict(state)
    shape = (2, 3, 8) if batch_first else (3, 2, 8)
    q, kv = _rand(*shape), _rand(*shape, seed=1)
    pad = np.array([[False, False, True], [False, False, False]])
    causal = np.triu(np.ones((3, 3), bool), 1)
    out, weights = mha(lm.tensor(q), lm.tensor(kv), lm.tensor(kv), key_padding_mask=pad,
                       attn_mask=causal)
    t_out, t_weights = tmha(torch.tensor(q), torch.tensor(kv), torch.tensor(kv),
                            key_padding_mask=torch.tensor(pad), attn_mask=torch.tensor(causal))
    np.testing.assert_allclose(np.asarray(out), t_out.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(weights), t_weights.detach().numpy(), rtol=1e-4,
                               atol=1e-5)

    # unbatched input: a batch of one
    out1, w1 = mha(lm.tensor(q[0] if batch_first else q[:, 0]), lm.tensor(kv[0] if batch_first
                   else kv[:, 0]), lm.tensor(kv[0] if batch_first else kv[:, 0]))
    t_out1, t_w1 = tmha(*(torch.tensor(a[0] if batch_first else a[:, 0]) for a in (q, kv, kv)))
    np.testing.assert_allclose(np.asarray(out1), t_out1.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(w1), t_w1.detach().numpy(), rtol=1e-4, atol=1e-5)

    def loss(x):
        return mha(x, x, x, need_weights=False)[0].sum()

    (grad,) = lm.grad(loss, argnums=(0,))(q)
    tq = torch.tensor(q, requires_grad=True)
    tmha(tq, tq, tq, need_weights=False)[0].sum().backward()
    np.testing.assert_allclose(np.asarray(grad), tq.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_conv2d_module_accepts_same_padding():
    torch.manual_seed(0)
    t_conv, conv = torch.nn.Conv2d(2, 3, 3, padding="same"), nn.Conv2d(2, 3, 3, padding="same")
    conv.load_state_dict(t_conv.state_dict())
    x = _rand(1, 2, 5, 5)
    np.testing.assert_allclose(np.asarray(conv(lm.tensor(x))),
                               t_conv(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_layers_match_torch_modules():
    torch.manual_seed(0)
    pairs = [(torch.nn.Embedding(6, 3), nn.Embedding(6, 3), np.array([[1, 5], [0, 0]])),
             (torch.nn.Flatten(), nn.Flatten(), _rand(2, 3, 2)),
             (torch.nn.AvgPool2d(2), nn.AvgPool2d(2), _rand(1, 1, 4, 4)),
             (torch.nn.MaxPool2d(2), nn.MaxPool2d(2), _rand(1, 1, 4, 4)),
             (torch.nn.SiLU(), nn.SiLU(), _rand(3)),
             (torch.nn.Softmax(1), nn.Softmax(1), _rand(2, 3)),
             (torch.nn.CrossEntropyLoss(label_smoothing=0.1),
              nn.CrossEntropyLoss(label_smoothing=0.1), (LOGITS, TARGET)),
             (torch.nn.MSELoss(), nn.MSELoss(), (_rand(3), _rand(3, seed=1)))]
    for t_mod, mod, x in pairs:
        mod.load_state_dict(t_mod.state_dict())
        args = x if isinstance(x, tuple) else (x,)
        want = t_mod(*(torch.tensor(a) for a in args)).detach().numpy()
        got = np.asarray(mod(*(lm.tensor(a) for a in args)))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=type(mod).__name__)
