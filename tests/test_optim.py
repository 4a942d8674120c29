"""lm.optim against torch.optim: the same MLP, the same weights and the same batches
give the same parameters after several steps, for every optimizer option; eager
and jitted steps agree; optimizer state dicts round-trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm
import lamina.nn as nn
import lamina.nn.functional as F

OPTIMIZERS = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd-momentum": ("SGD", dict(lr=0.1, momentum=0.9)),
    "sgd-dampening": ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    "sgd-nesterov-wd": ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    "sgd-maximize": ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    "adam": ("Adam", dict(lr=0.01)),
    "adam-wd-amsgrad": ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    "adamw": ("AdamW", dict(lr=0.01)),
    "adamw-wd": ("AdamW", dict(lr=0.02, weight_decay=0.5, eps=1e-6)),
}


def _models(seed: int = 0):
    torch.manual_seed(seed)
    tmodel = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    model.load_state_dict(tmodel.state_dict())
    return model, tmodel


def _batches(n: int):
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((4, 5)).astype(np.float32), rng.integers(0, 3, 4))
            for _ in range(n)]


def _torch_losses(tmodel, topt, batches):
    losses = []
    for x, y in batches:
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        topt.step()
        losses.append(loss.item())
    return losses


def _lamina_losses(model, opt, batches, jit: bool):
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    if jit:
        step = lm.jit(step)
        return [float(step(x, y)) for x, y in batches]
    return [float(step(lm.tensor(x), lm.tensor(y))) for x, y in batches]


def _assert_same_params(model, tmodel, rtol=1e-4, atol=1e-6):
    """Same parameters, and the same gradients of the last step in `.grad`."""
    t_state = tmodel.state_dict()
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(v, t_state[k].numpy(), rtol=rtol, atol=atol, err_msg=k)
    for (k, p), (_, tp) in zip(model.named_parameters(), tmodel.named_parameters(), strict=True):
        np.testing.assert_allclose(np.asarray(p.grad), tp.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"{k}.grad")


@pytest.mark.parametrize("jit", [True, False], ids=["jit", "eager"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_matches_torch(name, jit):
    cls, kwargs = OPTIMIZERS[name]
    model, tmodel = _models()
    batches = _batches(4)
    want = _torch_losses(tmodel, getattr(torch.optim, cls)(tmodel.parameters(), **kwargs), batches)
    got = _lamina_losses(model, getattr(lm.optim, cls)(model.parameters(), **kwargs), batches, jit)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    _assert_same_params(model, tmodel)


def test_param_groups_with_their_own_hyperparameters():
    model, tmodel = _models()
    groups = lambda m: [{"params": list(m[0].parameters()), "lr": 0.3},  # noqa: E731
                        {"params": list(m[2].parameters())}]
    batches = _batches(3)
    _torch_losses(tmodel, torch.optim.SGD(groups(tmodel), lr=0.05, momentum=0.9), batches)
    _lamina_losses(model, lm.optim.SGD(groups(model), lr=0.05, momentum=0.9), batches, jit=True)
    _assert_same_params(model, tmodel)


def test_state_dict_round_trip_and_resume_matches_torch():
    model, tmodel = _models()
    opt = lm.optim.Adam(model.parameters(), lr=0.01)
    topt = torch.optim.Adam(tmodel.parameters(), lr=0.01)
    batches = _batches(4)
    _torch_losses(tmodel, topt, batches[:2])
    _lamina_losses(model, opt, batches[:2], jit=True)
    saved = opt.state_dict()
    t_saved = topt.state_dict()
    assert saved["param_groups"][0]["params"] == t_saved["param_groups"][0]["params"]
    for i, entries in t_saved["state"].items():
        for key, value in entries.items():
            np.testing.assert_allclose(saved["state"][i][key], value.numpy(), rtol=1e-4,
                                       atol=1e-7, err_msg=key)
    # a fresh model + optimizer loaded from the saved states continues identically
    model2, _ = _models(seed=1)
    model2.load_state_dict(model.state_dict())
    opt2 = lm.optim.Adam(model2.parameters(), lr=0.01)
    opt2.load_state_dict(saved)
    _torch_losses(tmodel, topt, batches[2:])
    _lamina_losses(model2, opt2, batches[2:], jit=False)
    _assert_same_params(model2, tmodel)


def test_zero_grad_and_skipping_params_without_grad():
    model, _ = _models()
    opt = lm.optim.SGD(model.parameters(), lr=0.1)
    before = model.state_dict()
    opt.step()  # no gradients yet: nothing changes
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    F.mse_loss(model(lm.ones(2, 5)), lm.zeros(2, 3)).backward()
    assert all(p.grad is not None for p in model.parameters())
    opt.zero_grad(set_to_none=False)
    assert all(not np.asarray(p.grad).any() for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_bad_hyperparameters_are_reported():
    model, _ = _models()
    with pytest.raises(lm.ArgumentError, match="Nesterov"):
        lm.optim.SGD(model.parameters(), lr=0.1, nesterov=True)
    with pytest.raises(lm.ArgumentError, match="Adam.*betas"):
        lm.optim.Adam(model.parameters(), betas=(1.5, 0.9))
    with pytest.raises(lm.ArgumentError, match="empty"):
        lm.optim.AdamW([])


@pytest.mark.parametrize("cls", ["SGD", "AdamW"])
def test_learning_rate_schedule_reaches_a_jitted_step_without_retrace(cls):
    model, tmodel = _models()
    opt = getattr(lm.optim, cls)(model.parameters(), lr=0.1)
    topt = getattr(torch.optim, cls)(tmodel.parameters(), lr=0.1)
    step = lm.jit(lambda x, y: (opt.zero_grad(), F.cross_entropy(model(x), y).backward(),
                                opt.step()))
    for i, batch in enumerate(_batches(3)):
        for group in (*opt.param_groups, *topt.param_groups):
            group["lr"] = 0.1 / (i + 1)
        step(*batch)
        _torch_losses(tmodel, topt, [batch])
        if i == 0:
            first = list(step._cache.values())
    assert list(step._cache.values()) == first  # the first trace served every call
    _assert_same_params(model, tmodel)
