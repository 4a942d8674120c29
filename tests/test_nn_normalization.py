"""Normalization layers against torch: outputs, gradients, running statistics over
several training steps (eager and jitted), evaluation mode and state_dict keys."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm

rng = np.random.default_rng(0)


def _close(got, want, rtol=2e-5, atol=2e-5):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    got = np.asarray(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def _twins(name, *args, **kwargs):
    """The same layer in lamina and torch, with the same random affine parameters."""
    m_lm, m_t = getattr(lm.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    for key, value in m_t.state_dict().items():
        if value.is_floating_point() and key in ("weight", "bias"):
            value.copy_(torch.tensor(rng.standard_normal(tuple(value.shape)), dtype=value.dtype))
    m_lm.load_state_dict({k: v.numpy() for k, v in m_t.state_dict().items()})
    return m_lm, m_t


def _step(m_lm, m_t, x, check_grads=True):
    """One forward+backward of sum(out * w) on both; compares outputs and gradients."""
    w = rng.uniform(0.5, 1.5, x.shape).astype(np.float32)
    xl = lm.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out_l, out_t = m_lm(xl), m_t(xt)
    _close(out_l, out_t)
    if check_grads:
        (out_t * torch.tensor(w)).sum().backward()
        (out_l * w).sum().backward()
        _close(xl.grad, xt.grad, rtol=1e-4, atol=1e-4)
        for p_l, p_t in zip(m_lm.parameters(), m_t.parameters(), strict=True):
            _close(p_l.grad, p_t.grad, rtol=1e-4, atol=1e-4)
            p_l.grad, p_t.grad = None, None


BATCHNORMS = [
    ("BatchNorm1d", (4,), {}, (8, 4)), ("BatchNorm1d", (4,), {}, (6, 4, 5)),
    ("BatchNorm2d", (3,), {}, (4, 3, 5, 5)), ("BatchNorm3d", (2,), {}, (2, 2, 3, 3, 3)),
    ("BatchNorm2d", (3,), {"momentum": None}, (4, 3, 2, 2)),
    ("BatchNorm2d", (3,), {"affine": False}, (4, 3, 2, 2)),
    ("BatchNorm2d", (3,), {"track_running_stats": False}, (4, 3, 2, 2)),
    ("BatchNorm1d", (4,), {"momentum": 0.3, "eps": 1e-3}, (5, 4)),
]


@pytest.mark.parametrize("name,args,kw,shape", BATCHNORMS, ids=lambda v: str(v))
def test_batchnorm_trains_and_evaluates_as_torch(name, args, kw, shape):
    m_lm, m_t = _twins(name, *args, **kw)
    for _ in range(3):
        _step(m_lm, m_t, (rng.standard_normal(shape) * 2 + 1).astype(np.float32))
    for key, value in m_t.state_dict().items():
        _close(m_lm.state_dict()[key], value)
    assert list(m_lm.state_dict()) == list(m_t.state_dict())
    m_lm.eval()
    m_t.eval()
    _step(m_lm, m_t, rng.standard_normal(shape).astype(np.float32))


def test_batchnorm_running_stats_update_inside_jit():
    m_lm, m_t = _twins("BatchNorm2d", 3)
    step = lm.jit(lambda x: m_lm(x))
    for _ in range(4):
        x = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
        _close(step(x), m_t(torch.tensor(x)))
    for key, value in m_t.state_dict().items():
        _close(m_lm.state_dict()[key], value)
    m_lm.eval()
    m_t.eval()
    x = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    _close(step(x), m_t(torch.tensor(x)))  # the guard on .training retraces


def test_batchnorm_refuses_one_value_per_channel_in_training():
    with pytest.raises(ValueError):
        lm.nn.BatchNorm1d(3)(lm.randn(1, 3))
    with pytest.raises(RuntimeError):
        lm.nn.BatchNorm2d(3)(lm.randn(2, 4, 2, 2))


@pytest.mark.parametrize("name,args,kw,shape", [
    ("InstanceNorm1d", (3,), {}, (2, 3, 6)), ("InstanceNorm2d", (3,), {"affine": True},
                                              (2, 3, 4, 4)),
    ("InstanceNorm2d", (3,), {"track_running_stats": True}, (2, 3, 4, 4)),
    ("InstanceNorm3d", (2,), {}, (2, 2, 2, 3, 3)), ("InstanceNorm1d", (3,), {}, (3, 6)),
    ("GroupNorm", (2, 4), {}, (3, 4, 5)), ("GroupNorm", (1, 6), {"affine": False}, (2, 6, 2, 2)),
    ("RMSNorm", (5,), {}, (3, 5)), ("RMSNorm", ((2, 5),), {"eps": 1e-3}, (3, 2, 5)),
    ("LocalResponseNorm", (3,), {}, (2, 5, 4)), ("LocalResponseNorm", (4,), {"k": 2.0},
                                                  (2, 6, 3, 3)),
], ids=lambda v: str(v))
def test_other_norms_match_torch(name, args, kw, shape):
    m_lm, m_t = _twins(name, *args, **kw)
    for _ in range(2):
        _step(m_lm, m_t, rng.standard_normal(shape).astype(np.float32))
    for key, value in m_t.state_dict().items():
        _close(m_lm.state_dict()[key], value)
    m_lm.eval()
    m_t.eval()
    _step(m_lm, m_t, rng.standard_normal(shape).astype(np.float32), check_grads=False)


def test_functional_batch_norm_matches_torch():
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    rm_l, rv_l = lm.tensor(rm), lm.tensor(rv)
    rm_t, rv_t = torch.tensor(rm), torch.tensor(rv)
    got = lm.nn.functional.batch_norm(lm.tensor(x), rm_l, rv_l, training=True, momentum=0.2)
    want = torch.nn.functional.batch_norm(torch.tensor(x), rm_t, rv_t, training=True,
                                          momentum=0.2)
    _close(got, want)
    _close(rm_l, rm_t)
    _close(rv_l, rv_t)
