"""The optimizers added for issue 16 against torch.optim: the same MLP, weights and
batches give the same parameters after 20 steps (jitted; a few eager), state dicts
cross between torch and lamina both ways, and a jitted step whose hyperparameters a
schedule changes every step (lr, betas, weight decay, eps) compiles once."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm
import lamina.nn as nn
import lamina.nn.functional as F

OPTIMIZERS = {
    "rmsprop": ("RMSprop", dict(lr=0.01)),
    "rmsprop-centered-momentum-wd": ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.8,
                                                     centered=True, weight_decay=0.1)),
    "adagrad": ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1,
                                weight_decay=0.05)),
    "adadelta": ("Adadelta", dict(rho=0.8, weight_decay=0.1, maximize=True)),
    "adamax": ("Adamax", dict(lr=0.01, weight_decay=0.1)),
    "nadam": ("NAdam", dict(lr=0.01, momentum_decay=0.01)),
    "nadam-decoupled": ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    "radam": ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    "radam-decoupled": ("RAdam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1,
                                      decoupled_weight_decay=True)),
    "adam-decoupled": ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
}
EAGER = {"rmsprop-centered-momentum-wd", "nadam", "radam"}
# the fast suite runs one configuration per class jitted and one eager; `make test-slow`
# runs the rest
SLOW = {"rmsprop", "nadam-decoupled", "radam", "adam-decoupled", "nadam-eager",
        "rmsprop-centered-momentum-wd-eager"}


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


def _torch_step(tmodel, topt, x, y):
    topt.zero_grad()
    loss = torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y))
    loss.backward()
    topt.step()
    return loss.item()


def _lamina_step(model, opt, jit: bool):
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return lm.jit(step) if jit else (lambda x, y: step(lm.tensor(x), lm.tensor(y)))


def _assert_same_params(model, tmodel, rtol=1e-4, atol=1e-6):
    t_state = tmodel.state_dict()
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(v, t_state[k].numpy(), rtol=rtol, atol=atol, err_msg=k)


def _cases():
    for name in sorted(OPTIMIZERS):
        for jit in (True, False) if name in EAGER else (True,):
            case = f"{name}-{'jit' if jit else 'eager'}"
            marks = [pytest.mark.slow] if case in SLOW or (jit and name in SLOW) else []
            yield pytest.param(name, jit, id=case, marks=marks)


@pytest.mark.parametrize(("name", "jit"), list(_cases()))
def test_optimizer_matches_torch_for_20_steps(name, jit):
    cls, kwargs = OPTIMIZERS[name]
    model, tmodel = _models()
    opt = getattr(lm.optim, cls)(model.parameters(), **kwargs)
    topt = getattr(torch.optim, cls)(tmodel.parameters(), **kwargs)
    step = _lamina_step(model, opt, jit)
    batches = _batches(20) if jit else _batches(8)
    want = [_torch_step(tmodel, topt, x, y) for x, y in batches]
    got = [float(step(x, y)) for x, y in batches]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    _assert_same_params(model, tmodel)
    # the state dict has torch's layout, keys and values
    saved, t_saved = opt.state_dict(), topt.state_dict()
    assert saved["param_groups"] == [{**g, "params": g["params"]} for g in t_saved["param_groups"]]
    for i, entries in t_saved["state"].items():
        assert set(saved["state"][i]) == set(entries)
        for key, value in entries.items():
            np.testing.assert_allclose(np.asarray(saved["state"][i][key]), value.numpy(),
                                       rtol=1e-4, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("cls", ["NAdam", "RMSprop"])
def test_state_dicts_cross_between_torch_and_lamina(cls):
    """torch's state dict (torch tensors) loads into lamina, lamina's (lamina tensors)
    into torch, and all three optimizers then continue identically."""
    kwargs = dict(OPTIMIZERS[cls.lower()][1])
    model, tmodel = _models()
    topt = getattr(torch.optim, cls)(tmodel.parameters(), **kwargs)
    batches = _batches(6)
    for x, y in batches[:3]:
        _torch_step(tmodel, topt, x, y)
    model.load_state_dict(tmodel.state_dict())
    opt = getattr(lm.optim, cls)(model.parameters(), **kwargs)
    opt.load_state_dict(topt.state_dict())
    back_model, _ = _models(seed=3)
    back_model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    back_model.load_state_dict(tmodel.state_dict())
    back = getattr(torch.optim, cls)(back_model.parameters(), **kwargs)
    saved = opt.state_dict()
    back.load_state_dict({"state": {i: {k: torch.as_tensor(np.asarray(v)) for k, v in e.items()}
                                    for i, e in saved["state"].items()},
                          "param_groups": saved["param_groups"]})
    step = _lamina_step(model, opt, jit=True)
    for x, y in batches[3:]:
        want = _torch_step(tmodel, topt, x, y)
        assert _torch_step(back_model, back, x, y) == pytest.approx(want, rel=1e-6)
        assert float(step(x, y)) == pytest.approx(want, rel=1e-5)
    _assert_same_params(model, tmodel)


def test_scheduled_hyperparameters_are_inputs_not_constants():
    """OneCycleLR changes lr and β₁ every step, and the loop changes weight_decay and
    eps too: the jitted step is traced and compiled once and follows torch."""
    model, tmodel = _models()
    kwargs = dict(lr=0.01, weight_decay=0.01)
    opt, topt = lm.optim.AdamW(model.parameters(), **kwargs), \
        torch.optim.AdamW(tmodel.parameters(), **kwargs)
    scheds = [lib.optim.lr_scheduler.OneCycleLR(o, max_lr=0.05, total_steps=20)
              for lib, o in ((lm, opt), (torch, topt))]
    step = _lamina_step(model, opt, jit=True)
    for i, (x, y) in enumerate(_batches(20)):
        for o in (opt, topt):
            o.param_groups[0]["weight_decay"] = 0.01 * (1 + i % 3)
            o.param_groups[0]["eps"] = 1e-8 * (1 + i)
        want = _torch_step(tmodel, topt, x, y)
        assert float(step(x, y)) == pytest.approx(want, rel=1e-5)
        for s in scheds:
            s.step()
        if i == 0:
            first = list(step._cache.values())
    assert list(step._cache.values()) == first and len(first) == 1
    _assert_same_params(model, tmodel)


def test_cyclic_momentum_reaches_a_jitted_sgd_step_without_retrace():
    model, tmodel = _models()
    opt, topt = (lib.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
                 for lib, m in ((lm, model), (torch, tmodel)))
    scheds = [lib.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=4)
              for lib, o in ((lm, opt), (torch, topt))]
    step = _lamina_step(model, opt, jit=True)
    for x, y in _batches(20):
        want = _torch_step(tmodel, topt, x, y)
        assert float(step(x, y)) == pytest.approx(want, rel=1e-5)
        for s in scheds:
            s.step()
    assert len(step._cache) == 1
    _assert_same_params(model, tmodel)


def test_add_param_group():
    model, tmodel = _models()
    opts = []
    for lib, m in ((lm, model), (torch, tmodel)):
        opt = lib.optim.RMSprop(m[0].parameters(), lr=0.01)
        opt.add_param_group({"params": m[2].parameters(), "lr": 0.05, "momentum": 0.5})
        opts.append(opt)
    assert [len(g["params"]) for g in opts[0].param_groups] == [2, 2]
    assert opts[0].param_groups[1]["alpha"] == 0.99  # the defaults fill the new group
    step = _lamina_step(model, opts[0], jit=False)
    for x, y in _batches(5):
        assert float(step(x, y)) == pytest.approx(_torch_step(tmodel, opts[1], x, y), rel=1e-5)
    _assert_same_params(model, tmodel)
    with pytest.raises(ValueError, match="more than one"):
        opts[0].add_param_group({"params": model[0].parameters()})


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_matches_torch(line_search):
    """A Rosenbrock-like valley by L-BFGS (closure API), iterate for iterate (stopped
    before convergence, where float rounding would decide the last iterations)."""
    results = []
    for lib in (torch, lm):
        w = lib.tensor(np.array([-1.5, 2.0, 0.5, -0.5], np.float32), requires_grad=True)
        opt = lib.optim.LBFGS([w], lr=0.5, max_iter=5, history_size=3,
                              line_search_fn=line_search)

        def closure(opt=opt, w=w):
            opt.zero_grad()
            loss = ((w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2).sum()
            loss.backward()
            return loss
        losses = [opt.step(closure).item() for _ in range(3)]
        results.append((losses, np.asarray(w.detach().numpy()),
                        opt.state[w]["func_evals"], opt.state[w]["n_iter"]))
    (t_losses, t_w, t_evals, t_iters), (losses, w, evals, iters) = results
    np.testing.assert_allclose(losses, t_losses, rtol=1e-5)
    np.testing.assert_allclose(w, t_w, rtol=1e-4, atol=1e-6)
    assert (evals, iters) == (t_evals, t_iters)


def test_bad_hyperparameters_raise_torch_exceptions():
    p = [lm.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="rho"):
        lm.optim.Adadelta(p, rho=1.5)
    with pytest.raises(ValueError, match="NAdam"):
        lm.optim.NAdam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="groups"):
        lm.optim.LBFGS([{"params": p}, {"params": [lm.zeros(1, requires_grad=True)]}])
    with pytest.raises(TypeError, match="closure"):
        lm.optim.LBFGS(p).step()


def test_a_tensor_learning_rate_is_accepted_as_in_torch():
    model, tmodel = _models()
    opt = lm.optim.Adam(model.parameters(), lr=lm.tensor(0.01))
    topt = torch.optim.Adam(tmodel.parameters(), lr=torch.tensor(0.01))
    step = _lamina_step(model, opt, jit=True)
    for x, y in _batches(3):
        assert float(step(x, y)) == pytest.approx(_torch_step(tmodel, topt, x, y), rel=1e-5)
    _assert_same_params(model, tmodel)


def test_turning_momentum_on_later_adds_its_buffer_as_torch():
    """A schedule or a user may turn on momentum after construction: the buffer is
    created then (torch creates state lazily) and the steps still match torch."""
    model, tmodel = _models()
    opt, topt = (lib.optim.SGD(m.parameters(), lr=0.1) for lib, m in ((lm, model), (torch, tmodel)))
    step = _lamina_step(model, opt, jit=True)
    for i, (x, y) in enumerate(_batches(4)):
        if i == 2:
            for o in (opt, topt):
                o.param_groups[0]["momentum"] = 0.9
        assert float(step(x, y)) == pytest.approx(_torch_step(tmodel, topt, x, y), rel=1e-5)
    assert all("momentum_buffer" in opt.state[p] for p in model.parameters())
    _assert_same_params(model, tmodel)
