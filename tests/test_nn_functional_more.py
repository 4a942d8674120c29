"""The activations and losses of lm.nn.functional beyond the core ones, and their
modules, against torch: values and gradients (eager), values under lm.jit on C, at
random points and at the points where the functions switch branch (torch's gradients
on the bounds are part of the contract)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lamina as lm

F = lm.nn.functional
rng = np.random.default_rng(0)

# the points where some activation switches branch, then random ones
EDGES = np.array([0.0, -3.0, 3.0, 6.0, -1.0, 1.0, 0.5, -0.5, 20.0, -20.0, 0.1, 25.0])
X = np.concatenate([EDGES, rng.standard_normal(20) * 4]).astype(np.float32)

ACTIVATIONS = [
    ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("elu", {}),
    ("elu", {"alpha": 0.5}), ("selu", {}), ("celu", {"alpha": 2.0}), ("softplus", {}),
    ("softplus", {"beta": 2.0, "threshold": 10.0}), ("softsign", {}), ("logsigmoid", {}),
    ("hardtanh", {}), ("hardtanh", {"min_val": -0.5, "max_val": 3.0}), ("relu6", {}),
    ("hardsigmoid", {}), ("hardswish", {}), ("mish", {}), ("tanhshrink", {}),
    ("hardshrink", {}), ("hardshrink", {"lambd": 1.0}), ("softshrink", {}),
    ("softshrink", {"lambd": 1.0}), ("threshold", {"threshold": 0.5, "value": -2.0}),
    ("rrelu", {}),
]


def _grads(fn_lm, fn_t, *arrays, weight_seed=1):
    """lamina's and torch's gradients of sum(fn(*arrays) * w) for every input."""
    xs = [lm.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_t = fn_t(*ts)
    w = np.random.default_rng(weight_seed).uniform(0.5, 1.5, tuple(out_t.shape)).astype(
        np.float32)
    (out_t * torch.tensor(w)).sum().backward()
    (fn_lm(*xs) * w).sum().backward()
    return [x.grad for x in xs], [t.grad for t in ts]


def _close(got, want, rtol=1e-5, atol=1e-6):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    got = np.asarray(got)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=lambda v: str(v))
def test_activation_matches_torch(name, kw):
    fn_lm = lambda x: getattr(F, name)(x, **kw)
    fn_t = lambda x: getattr(TF, name)(x, **kw)
    _close(fn_lm(lm.tensor(X)), fn_t(torch.tensor(X)))
    got, want = _grads(fn_lm, fn_t, X)
    _close(got[0], want[0])


def test_activations_under_jit_on_c():
    """One program with every activation (one compile)."""
    deterministic = [(n, kw) for n, kw in ACTIVATIONS if n != "rrelu"]
    got = lm.jit(lambda x: tuple(getattr(F, n)(x, **kw) for n, kw in deterministic),
                 backend="c")(X)
    for (name, kw), value in zip(deterministic, got, strict=True):
        _close(value, getattr(TF, name)(torch.tensor(X), **kw))


def test_activations_keep_nan():
    x = np.array([np.nan, 1.0, -1.0], np.float32)
    for name, kw in ACTIVATIONS:
        got = np.asarray(getattr(F, name)(lm.tensor(x), **kw))
        want = getattr(TF, name)(torch.tensor(x), **kw).numpy()
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=name)


def test_prelu_glu_softmin():
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    w = np.array([0.1, -0.3, 2.0], np.float32)
    _close(F.prelu(lm.tensor(x), lm.tensor(w)), TF.prelu(torch.tensor(x), torch.tensor(w)))
    got, want = _grads(F.prelu, TF.prelu, x, w)
    for g, t in zip(got, want, strict=True):
        _close(g, t)
    for dim in (-1, 1):
        _close(F.glu(lm.tensor(x[:, :2]), dim), TF.glu(torch.tensor(x[:, :2]), dim))
        _close(F.softmin(lm.tensor(x), dim), TF.softmin(torch.tensor(x), dim))
    got, want = _grads(lambda a: F.glu(a, 1), lambda a: TF.glu(a, 1), x[:, :2].copy())
    _close(got[0], want[0])
    with pytest.raises(RuntimeError):
        F.glu(lm.tensor(x), 1)  # 3 channels cannot be halved (torch: RuntimeError)


def test_rrelu_in_training_draws_slopes_between_lower_and_upper():
    x = -np.ones(1000, np.float32)
    y = np.asarray(F.rrelu(lm.tensor(x), 0.1, 0.3, training=True))
    assert np.all((y <= -0.1) & (y >= -0.3)) and y.std() > 0.01


MODULES = [
    ("LeakyReLU", (0.1,)), ("ELU", ()), ("CELU", (0.7,)), ("SELU", ()), ("ReLU6", ()),
    ("Hardsigmoid", ()), ("Hardswish", ()), ("Mish", ()), ("Hardtanh", (-2.0, 2.0)),
    ("Threshold", (0.1, 20.0)), ("Softplus", (2.0,)), ("Softsign", ()), ("LogSigmoid", ()),
    ("Tanhshrink", ()), ("Hardshrink", (0.3,)), ("Softshrink", (0.3,)), ("GLU", ()),
    ("Softmin", (1,)), ("Softmax2d", ()), ("PReLU", ()),
]


@pytest.mark.parametrize("name,args", MODULES, ids=lambda v: str(v))
def test_activation_module_matches_torch(name, args):
    x = rng.standard_normal((2, 4, 3, 2)).astype(np.float32)
    m_lm, m_t = getattr(lm.nn, name)(*args), getattr(torch.nn, name)(*args)
    _close(m_lm(lm.tensor(x)), m_t(torch.tensor(x)))
    assert sorted(dict(m_lm.state_dict())) == sorted(m_t.state_dict())


def test_activation_modules_refuse_what_torch_refuses():
    with pytest.raises(TypeError):
        lm.nn.Threshold(0.5)  # torch: value is required
    with pytest.raises(TypeError):
        lm.nn.LeakyReLU(0.1, False, 3)


# ---------------------------------------------------------------- losses

def _pair(shape=(4, 5)):
    return (rng.standard_normal(shape).astype(np.float32),
            rng.standard_normal(shape).astype(np.float32))


def _signs(n):
    return np.where(rng.random(n) > 0.5, 1.0, -1.0).astype(np.float32)


LOSSES = {
    "smooth_l1": (lambda f, a, b, **k: f.smooth_l1_loss(a, b, **k), _pair, {"beta": 0.5}),
    "smooth_l1_b0": (lambda f, a, b, **k: f.smooth_l1_loss(a, b, **k), _pair, {"beta": 0.0}),
    "huber": (lambda f, a, b, **k: f.huber_loss(a, b, **k), _pair, {"delta": 0.7}),
    "kl_div": (lambda f, a, b, **k: f.kl_div(f.log_softmax(a, 1), f.softmax(b, 1), **k),
               _pair, {}),
    "kl_div_log": (lambda f, a, b, **k: f.kl_div(f.log_softmax(a, 1), f.log_softmax(b, 1),
                                                 log_target=True, **k), _pair, {}),
    "poisson": (lambda f, a, b, **k: f.poisson_nll_loss(a, b.abs() * 3, **k), _pair, {}),
    "poisson_full": (lambda f, a, b, **k: f.poisson_nll_loss(a.abs() + 0.1, b.abs() * 3,
                                                             log_input=False, full=True, **k),
                     _pair, {}),
    "gaussian": (lambda f, a, b, **k: f.gaussian_nll_loss(a, b, b.abs() + 0.1, **k), _pair, {}),
    "gaussian_full": (lambda f, a, b, **k: f.gaussian_nll_loss(a, b, (b * a).abs()[:, 0],
                                                               full=True, **k), _pair, {}),
    "margin_ranking": (lambda f, a, b, **k: f.margin_ranking_loss(
        a[0], b[0], (a[1] > 0).float() * 2 - 1, margin=0.3, **k), _pair, {}),
    "hinge": (lambda f, a, b, **k: f.hinge_embedding_loss(a, (b > 0).float() * 2 - 1, **k),
              _pair, {}),
    "soft_margin": (lambda f, a, b, **k: f.soft_margin_loss(a, (b > 0).float() * 2 - 1, **k),
                    _pair, {}),
    "cosine_embedding": (lambda f, a, b, **k: f.cosine_embedding_loss(
        a, b, (a[:, 0] > 0).float() * 2 - 1, margin=0.2, **k), _pair, {}),
    "triplet": (lambda f, a, b, **k: f.triplet_margin_loss(a, b, a * 0.5 + b * 0.3, **k),
                _pair, {}),
    "triplet_swap_p1": (lambda f, a, b, **k: f.triplet_margin_loss(
        a, b, a * 0.5 - b, p=1, swap=True, **k), _pair, {}),
    "multilabel_soft_margin": (lambda f, a, b, **k: f.multilabel_soft_margin_loss(
        a, (b > 0).float(), **k), _pair, {}),
    "multi_margin": (lambda f, a, b, **k: f.multi_margin_loss(
        a, (b[:, 0].abs() * 2).long(), **k), _pair, {}),
    "multi_margin_p2": (lambda f, a, b, **k: f.multi_margin_loss(
        a, (b[:, 0].abs() * 2).long(), p=2, margin=0.5, **k), _pair, {}),
}

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_matches_torch(name, reduction):
    fn, make, kw = LOSSES[name]
    a, b = make()
    fn_lm = lambda x, y: fn(F, x, y, reduction=reduction, **kw)
    fn_t = lambda x, y: fn(TF, x, y, reduction=reduction, **kw)
    _close(fn_lm(lm.tensor(a), lm.tensor(b)), fn_t(torch.tensor(a), torch.tensor(b)),
           rtol=2e-5, atol=2e-6)
    if name.startswith(("multi_margin", "margin_ranking", "hinge", "soft_margin",
                        "cosine_embedding", "multilabel")):
        got, want = _grads(lambda x: fn(F, x, lm.tensor(b), reduction=reduction, **kw),
                           lambda x: fn(TF, x, torch.tensor(b), reduction=reduction, **kw), a)
    else:
        got, want = _grads(fn_lm, fn_t, a, b)
    for g, t in zip(got, want, strict=True):
        _close(g, t, rtol=2e-5, atol=2e-6)


def test_kl_div_batchmean_and_zero_targets():
    a = np.log(np.array([[0.2, 0.8], [0.5, 0.5]], np.float32))
    b = np.array([[0.0, 1.0], [0.3, 0.7]], np.float32)
    for red in ("batchmean", "sum"):
        _close(F.kl_div(lm.tensor(a), lm.tensor(b), reduction=red),
               TF.kl_div(torch.tensor(a), torch.tensor(b), reduction=red))


def test_distances_match_torch():
    a, b = _pair((3, 6))
    for p in (1.0, 2.0, 3.0, float("inf")):
        _close(F.pairwise_distance(lm.tensor(a), lm.tensor(b), p),
               TF.pairwise_distance(torch.tensor(a), torch.tensor(b), p))
    for dim in (0, 1):
        _close(F.cosine_similarity(lm.tensor(a), lm.tensor(b), dim),
               TF.cosine_similarity(torch.tensor(a), torch.tensor(b), dim))
    got, want = _grads(F.cosine_similarity, TF.cosine_similarity, a, b)
    for g, t in zip(got, want, strict=True):
        _close(g, t)
    _close(lm.nn.CosineSimilarity(0)(lm.tensor(a), lm.tensor(b)),
           torch.nn.CosineSimilarity(0)(torch.tensor(a), torch.tensor(b)))
    _close(lm.nn.PairwiseDistance(1.0)(lm.tensor(a), lm.tensor(b)),
           torch.nn.PairwiseDistance(1.0)(torch.tensor(a), torch.tensor(b)))


LOSS_MODULES = [
    ("SmoothL1Loss", {"beta": 0.5}), ("HuberLoss", {"delta": 2.0}), ("SoftMarginLoss", {}),
    ("MultiLabelSoftMarginLoss", {}), ("KLDivLoss", {"reduction": "batchmean"}),
    ("PoissonNLLLoss", {"log_input": True}), ("HingeEmbeddingLoss", {"margin": 0.5}),
]


@pytest.mark.parametrize("name,kw", LOSS_MODULES, ids=lambda v: str(v))
def test_loss_module_matches_torch(name, kw):
    a, b = _pair()
    b = np.where(b > 0, 1.0, -1.0 if "Margin" in name or "Hinge" in name else 0.0).astype(
        np.float32) if "Margin" in name or "Hinge" in name else np.abs(b)
    _close(getattr(lm.nn, name)(**kw)(lm.tensor(a), lm.tensor(b)),
           getattr(torch.nn, name)(**kw)(torch.tensor(a), torch.tensor(b)), rtol=2e-5)


def test_losses_under_jit_on_c():
    a, b = _pair()
    names = ("smooth_l1", "huber", "kl_div", "triplet", "multi_margin", "gaussian")
    got = lm.jit(lambda x, y: tuple(LOSSES[n][0](F, x, y, **LOSSES[n][2]) for n in names),
                 backend="c")(a, b)
    for name, value in zip(names, got, strict=True):
        fn, _, kw = LOSSES[name]
        _close(value, fn(TF, torch.tensor(a), torch.tensor(b), **kw), rtol=2e-5, atol=2e-6)


def test_other_spellings_match_torch():
    x = rng.standard_normal((5, 3)).astype(np.float32)
    _close(F.pdist(lm.tensor(x)), TF.pdist(torch.tensor(x)), atol=1e-5)
    y = rng.standard_normal((2, 6, 2, 2)).astype(np.float32)
    _close(F.channel_shuffle(lm.tensor(y), 3), TF.channel_shuffle(torch.tensor(y), 3))
    _close(F.upsample_bilinear(lm.tensor(y), scale_factor=2),
           TF.interpolate(torch.tensor(y), scale_factor=2, mode="bilinear", align_corners=True))
    for name in ("relu_", "elu_", "leaky_relu_", "hardtanh_", "selu_", "celu_"):
        t, u = lm.tensor(X.copy()), torch.tensor(X.copy())
        assert getattr(F, name)(t) is t
        getattr(TF, name)(u)
        _close(t, u)
    w = rng.standard_normal((4, 3, 5)).astype(np.float32)
    k = rng.standard_normal((2, 3, 3)).astype(np.float32)
    _close(F.conv1d(lm.tensor(w), lm.tensor(k), padding=1),
           TF.conv1d(torch.tensor(w), torch.tensor(k), padding=1), rtol=1e-5, atol=1e-5)
    lm.manual_seed(0)
    out = np.asarray(F.dropout2d(lm.ones(8, 16, 3, 3), 0.5))
    assert set(np.unique(out.reshape(128, 9).std(1))) == {0.0}


def test_coverage_tool_lists_what_torch_has_and_lamina_lacks(capsys):
    from lamina.tools import coverage

    rows = {torch_name: (have, missing) for torch_name, _, have, missing in coverage.coverage()}
    assert rows["torch.optim.lr_scheduler"][1] == []
    assert "Conv2d" in rows["torch.nn"][0] and "LSTM" in rows["torch.nn"][0]
    assert coverage.main(["--missing"]) == 0
    assert "torch.nn.functional" in capsys.readouterr().out
