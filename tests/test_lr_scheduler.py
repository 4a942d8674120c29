"""lm.optim.lr_scheduler against torch.optim.lr_scheduler: the same schedule on the
same optimizer gives the same learning rates (and momenta) for 60 steps, through
`get_last_lr()` and the groups; a state_dict saved halfway resumes identically, and
a scheduled jitted step compiles once."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lamina as lm

S = "lr_scheduler"


def _sgd(lib, groups: int = 2, **kw):
    params = [{"params": [lib.zeros(2, requires_grad=True)], "lr": 0.1 * (i + 1)}
              for i in range(groups)]
    return lib.optim.SGD(params, lr=0.1, momentum=kw.pop("momentum", 0.9), **kw)


def _adam(lib, groups: int = 1):
    return lib.optim.Adam([lib.zeros(2, requires_grad=True)], lr=0.01)


class _Decay:  # a callable object: its __dict__ is saved by LambdaLR's state_dict
    def __init__(self, rate: float):
        self.rate = rate

    def __call__(self, epoch: int) -> float:
        return self.rate**epoch


SCHEDULES = {
    "lambda": (_sgd, lambda m, o: m.LambdaLR(o, lambda e: 1 / (e + 1))),
    "lambda-object": (_sgd, lambda m, o: m.LambdaLR(o, [_Decay(0.9), _Decay(0.8)])),
    "multiplicative": (_sgd, lambda m, o: m.MultiplicativeLR(o, lambda e: 0.97)),
    "step": (_sgd, lambda m, o: m.StepLR(o, step_size=7, gamma=0.5)),
    "multistep": (_sgd, lambda m, o: m.MultiStepLR(o, milestones=[5, 12, 12, 40], gamma=0.3)),
    "exponential": (_sgd, lambda m, o: m.ExponentialLR(o, gamma=0.95)),
    "cosine": (_sgd, lambda m, o: m.CosineAnnealingLR(o, T_max=17, eta_min=0.001)),
    "warm-restarts": (_sgd, lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2,
                                                                        eta_min=0.01)),
    "onecycle": (_sgd, lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=70)),
    "onecycle-adam-linear-3phase": (_adam, lambda m, o: m.OneCycleLR(
        o, max_lr=0.1, epochs=7, steps_per_epoch=10, anneal_strategy="linear",
        three_phase=True)),
    "cyclic": (_sgd, lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=6)),
    "cyclic-triangular2": (_sgd, lambda m, o: m.CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=4, step_size_down=7,
        mode="triangular2")),
    "cyclic-exp-adam": (_adam, lambda m, o: m.CyclicLR(
        o, base_lr=0.001, max_lr=0.01, step_size_up=5, mode="exp_range", gamma=0.97)),
    "linear": (_sgd, lambda m, o: m.LinearLR(o, start_factor=0.2, total_iters=9)),
    "constant": (_sgd, lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=8)),
    "polynomial": (_sgd, lambda m, o: m.PolynomialLR(o, total_iters=30, power=2.0)),
    "sequential": (_sgd, lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.ExponentialLR(o, gamma=0.9),
            m.CosineAnnealingLR(o, T_max=10)], milestones=[5, 25])),
    "chained": (_sgd, lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.3, total_iters=4), m.ExponentialLR(o, gamma=0.97)])),
}


def _trace(make_opt, make_sched, lib, steps: int, resume_at: int | None = None):
    opt = make_opt(lib)
    sched = make_sched(getattr(lib.optim, S), opt)
    out = []
    for i in range(steps):
        if i == resume_at:  # a fresh optimizer + scheduler continue from the state dicts
            saved_opt, saved = opt.state_dict(), sched.state_dict()
            opt = make_opt(lib)
            sched = make_sched(getattr(lib.optim, S), opt)
            opt.load_state_dict(saved_opt)
            sched.load_state_dict(saved)
        opt.step()
        sched.step()
        momenta = [g.get("momentum", g.get("betas", (0,))[0]) for g in opt.param_groups]
        out.append([*sched.get_last_lr(), *(g["lr"] for g in opt.param_groups), *momenta])
    return np.array(out, dtype=np.float64)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_matches_torch(name):
    make_opt, make_sched = SCHEDULES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _trace(make_opt, make_sched, torch, 60)
        got = _trace(make_opt, make_sched, lm, 60)
        resumed = _trace(make_opt, make_sched, lm, 60, resume_at=23)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(resumed, want, rtol=1e-12, atol=1e-15)


def test_reduce_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.9, 0.91, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.5] * 6
    runs = []
    for lib in (torch, lm):
        opt = _sgd(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2,
                                                          cooldown=1, min_lr=[0.01, 0.001])
        lrs = []
        for i, m in enumerate(metrics):
            if lib is lm and i == 30:
                saved = sched.state_dict()
                sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt)
                sched.load_state_dict(saved)
            sched.step(m)
            lrs.append([*sched.get_last_lr(), *(g["lr"] for g in opt.param_groups)])
        runs.append(lrs)
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-12)


def test_closed_form_epochs_match_torch():
    for epoch in (0, 3, 7, 20):
        lrs = []
        for lib in (torch, lm):
            opt = _sgd(lib)
            sched = lib.optim.lr_scheduler.StepLR(opt, 5, gamma=0.5)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sched.step(epoch)
            lrs.append(sched.get_last_lr())
        assert lrs[1] == pytest.approx(lrs[0], rel=1e-12)


def test_torch_scheduler_state_dict_loads_into_lamina():
    topt, opt = _sgd(torch), _sgd(lm)
    tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=10)
    sched = lm.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        topt.step()
        tsched.step()
    assert set(sched.state_dict()) == set(tsched.state_dict())
    opt.load_state_dict(topt.state_dict())
    sched.load_state_dict(tsched.state_dict())
    for _ in range(8):
        topt.step()
        tsched.step()
        sched.step()
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)


def test_bad_arguments_raise_torch_exceptions():
    opt = _sgd(lm)
    with pytest.raises(ValueError, match="factor"):
        lm.optim.lr_scheduler.ConstantLR(opt, factor=2.0)
    with pytest.raises(TypeError, match="not an Optimizer"):
        lm.optim.lr_scheduler.StepLR(object(), 3)
    with pytest.raises(ValueError, match="total_steps"):
        lm.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="momentum"):
        lm.optim.lr_scheduler.CyclicLR(lm.optim.Adagrad([lm.zeros(1, requires_grad=True)]),
                                       0.1, 1.0)
