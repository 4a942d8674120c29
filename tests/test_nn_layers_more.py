"""Convolution, pooling, padding, resizing and dropout modules against torch: same
weights (copied through state_dict, whose keys must be torch's), same outputs and
gradients; constructors and reprs as torch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm

rng = np.random.default_rng(0)


def _close(got, want, rtol=1e-4, atol=1e-5):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    got = np.asarray(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def _twin(name, *args, **kwargs):
    m_lm, m_t = getattr(lm.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert list(m_lm.state_dict()) == list(m_t.state_dict())
    m_t.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in m_lm.state_dict().items()})
    return m_lm, m_t


def _check(m_lm, m_t, shape, grads=True):
    x = rng.standard_normal(shape).astype(np.float32)
    xl, xt = lm.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_l, out_t = m_lm(xl), m_t(xt)
    _close(out_l, out_t)
    if grads:
        w = rng.uniform(0.5, 1.5, tuple(out_t.shape)).astype(np.float32)
        (out_t * torch.tensor(w)).sum().backward()
        (out_l * w).sum().backward()
        _close(xl.grad, xt.grad)
        for p_l, p_t in zip(m_lm.parameters(), m_t.parameters(), strict=True):
            _close(p_l.grad, p_t.grad, rtol=2e-4, atol=2e-4)


CONVS = [
    ("Conv1d", (3, 4, 3), {}, (2, 3, 9)),
    ("Conv1d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2, "bias": False}, (2, 4, 10)),
    ("Conv1d", (3, 2, 4), {"padding": "same", "dilation": 2, "padding_mode": "reflect"},
     (2, 3, 11)),
    ("Conv2d", (3, 4, 3), {"padding": 1, "padding_mode": "circular"}, (2, 3, 6, 5)),
    ("Conv2d", (3, 4, (3, 2)), {"padding": (2, 1), "padding_mode": "replicate"}, (1, 3, 5, 5)),
    ("Conv2d", (2, 4, 3), {"padding": "valid", "stride": (2, 1)}, (3, 2, 7, 6)),
    ("Conv3d", (2, 3, 2), {"padding": 1}, (1, 2, 4, 4, 3)),
    ("ConvTranspose1d", (3, 2, 3), {"stride": 2, "output_padding": 1}, (2, 3, 5)),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, (2, 4, 4, 3)),
    ("ConvTranspose2d", (3, 2, 4), {"stride": 2, "padding": 1, "bias": False}, (2, 3, 5, 5)),
    ("ConvTranspose3d", (2, 2, 2), {"stride": 2}, (1, 2, 2, 3, 2)),
]


@pytest.mark.parametrize("name,args,kw,shape", CONVS, ids=lambda v: str(v))
def test_conv_modules_match_torch(name, args, kw, shape):
    m_lm, m_t = _twin(name, *args, **kw)
    _check(m_lm, m_t, shape)
    assert repr(m_lm) == repr(m_t)


def test_conv_transpose_output_size():
    m_lm, m_t = _twin("ConvTranspose2d", 3, 2, 3, stride=2, padding=1)
    x = rng.standard_normal((1, 3, 4, 4)).astype(np.float32)
    for size in ((7, 7), (8, 8), (1, 2, 8, 7)):
        _close(m_lm(lm.tensor(x), output_size=size), m_t(torch.tensor(x), output_size=size))
    with pytest.raises(ValueError):
        m_lm(lm.tensor(x), output_size=(10, 10))


def test_conv_default_init_is_torchs_distribution():
    w = np.asarray(lm.nn.Conv2d(16, 32, 3).weight)
    bound = 1 / np.sqrt(16 * 9)  # kaiming_uniform(a=sqrt(5)) = U(±1/sqrt(fan_in))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


POOLS = [
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1}, (2, 3, 10)),
    ("MaxPool2d", (2,), {}, (2, 3, 6, 6)), ("MaxPool2d", (3,), {"stride": 2, "ceil_mode": True},
                                            (1, 2, 7, 8)),
    ("MaxPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("AvgPool1d", (3,), {"padding": 1, "count_include_pad": False}, (2, 3, 8)),
    ("AvgPool2d", (3,), {"stride": 2, "divisor_override": 4}, (1, 2, 7, 7)),
    ("AvgPool3d", (2,), {"stride": 1}, (1, 2, 3, 4, 3)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)), ("AdaptiveAvgPool2d", ((3, 2),), {},
                                                 (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 4, 4)), ("AdaptiveAvgPool3d", (2,), {},
                                                    (1, 2, 5, 4, 3)),
    ("AdaptiveMaxPool1d", (3,), {}, (2, 3, 8)), ("AdaptiveMaxPool2d", ((2, 3),), {},
                                                 (1, 2, 5, 7)),
    ("LPPool1d", (2, 3), {}, (2, 3, 9)), ("LPPool2d", (3.0, 2), {}, (1, 2, 6, 6)),
]


@pytest.mark.parametrize("name,args,kw,shape", POOLS, ids=lambda v: str(v))
def test_pool_modules_match_torch(name, args, kw, shape):
    m_lm, m_t = _twin(name, *args, **kw)
    _check(m_lm, m_t, shape)


RESHAPING = [
    ("ZeroPad2d", ((1, 2, 0, 3),), {}, (2, 3, 4, 4)), ("ConstantPad1d", (2, 3.5), {}, (2, 5)),
    ("ConstantPad3d", (1, -1.0), {}, (1, 2, 2, 3, 2)),
    ("ReflectionPad1d", (2,), {}, (2, 3, 5)), ("ReflectionPad2d", ((1, 0, 2, 1),), {},
                                               (1, 2, 4, 4)),
    ("ReplicationPad2d", (2,), {}, (1, 2, 3, 3)), ("ReplicationPad3d", (1,), {},
                                                   (1, 2, 2, 3, 2)),
    ("CircularPad2d", ((1, 2, 2, 1),), {}, (1, 2, 3, 4)),
    ("Upsample", (), {"scale_factor": 2}, (1, 2, 3, 4)),
    ("Upsample", (), {"size": (5, 7), "mode": "bilinear"}, (1, 2, 3, 4)),
    ("Upsample", (), {"scale_factor": 1.5, "mode": "bilinear", "align_corners": True},
     (1, 2, 4, 4)),
    ("Upsample", (), {"size": 7, "mode": "linear"}, (2, 3, 4)),
    ("Upsample", (), {"scale_factor": 2, "mode": "trilinear"}, (1, 1, 2, 3, 2)),
    ("UpsamplingNearest2d", (), {"scale_factor": 3}, (1, 2, 2, 3)),
    ("UpsamplingBilinear2d", (), {"size": (4, 6)}, (1, 2, 3, 3)),
    ("PixelShuffle", (2,), {}, (2, 8, 3, 3)), ("PixelUnshuffle", (2,), {}, (2, 2, 4, 6)),
    ("Unflatten", (1, (2, 3)), {}, (4, 6, 5)),
    ("Unfold", ((2, 3),), {"stride": 2, "padding": 1}, (2, 3, 7, 6)),
    ("Unfold", (2,), {"dilation": 2}, (3, 5, 5)),
    ("Fold", ((7, 6), (2, 3)), {"stride": 2, "padding": 1}, (2, 18, 12)),
    ("Fold", ((5, 5), 2), {"dilation": 2}, (12, 9)),
]


@pytest.mark.parametrize("name,args,kw,shape", RESHAPING, ids=lambda v: str(v))
def test_reshaping_modules_match_torch(name, args, kw, shape):
    m_lm, m_t = _twin(name, *args, **kw)
    _check(m_lm, m_t, shape)


def test_interpolate_under_jit_on_c():
    x = rng.standard_normal((1, 2, 5, 6)).astype(np.float32)
    F = lm.nn.functional
    got = lm.jit(lambda a: (F.interpolate(a, scale_factor=2.5, mode="bilinear"),
                            F.pad(a, (1, 2, 2, 1), mode="reflect")), backend="c")(x)
    t = torch.tensor(x)
    _close(got[0], torch.nn.functional.interpolate(t, scale_factor=2.5, mode="bilinear"))
    _close(got[1], torch.nn.functional.pad(t, (1, 2, 2, 1), mode="reflect"))


def test_channel_dropout_zeroes_whole_channels_and_scales():
    lm.manual_seed(0)
    for name, shape in (("Dropout1d", (8, 16, 5)), ("Dropout2d", (8, 16, 3, 3)),
                        ("Dropout3d", (4, 16, 2, 2, 2))):
        y = np.asarray(getattr(lm.nn, name)(0.25)(lm.ones(*shape)))
        per_channel = y.reshape(shape[0] * shape[1], -1)
        assert set(np.unique(per_channel.std(1))) == {0.0}
        assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
        assert 0.1 < (per_channel[:, 0] == 0).mean() < 0.45
        m = getattr(lm.nn, name)(0.25).eval()
        x = lm.randn(*shape)
        np.testing.assert_array_equal(np.asarray(m(x)), np.asarray(x))


def test_alpha_dropout_keeps_mean_and_variance():
    lm.manual_seed(0)
    y = np.asarray(lm.nn.AlphaDropout(0.3)(lm.randn(400_000)))
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01


def test_bilinear_and_parameter_containers():
    m_lm, m_t = _twin("Bilinear", 3, 4, 5)
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal((2, 4)).astype(np.float32)
    _close(m_lm(lm.tensor(a), lm.tensor(b)), m_t(torch.tensor(a), torch.tensor(b)))
    plist = lm.nn.ParameterList([lm.ones(2), lm.zeros(3)])
    pdict = lm.nn.ParameterDict({"a": lm.ones(2)})
    assert list(plist.state_dict()) == list(torch.nn.ParameterList(
        [torch.ones(2), torch.zeros(3)]).state_dict())
    assert list(pdict.state_dict()) == ["a"] and len(list(plist.parameters())) == 2


@pytest.mark.parametrize("nd,kw,shape", [
    (1, {"kernel_size": 3, "stride": 2, "padding": 1}, (2, 3, 9)),
    (2, {"kernel_size": 2}, (2, 3, 6, 8)),
    (2, {"kernel_size": (2, 3), "stride": 2, "dilation": (2, 1), "ceil_mode": True},
     (1, 2, 7, 8)),
    (3, {"kernel_size": 2}, (1, 2, 4, 4, 4)),
], ids=lambda v: str(v))
def test_max_pool_indices_and_unpool_match_torch(nd, kw, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    x[..., 0] = x[..., 1]  # ties: the first maximum, as torch
    pool_lm = getattr(lm.nn, f"MaxPool{nd}d")(return_indices=True, **kw)
    pool_t = getattr(torch.nn, f"MaxPool{nd}d")(return_indices=True, **kw)
    (v_l, i_l), (v_t, i_t) = pool_lm(lm.tensor(x)), pool_t(torch.tensor(x))
    _close(v_l, v_t)
    np.testing.assert_array_equal(np.asarray(i_l), i_t.numpy())
    if "dilation" in kw:
        return  # MaxUnpool has no dilation
    unpool_kw = {k: v for k, v in kw.items() if k in ("kernel_size", "stride", "padding")}
    un_l = getattr(lm.nn, f"MaxUnpool{nd}d")(**unpool_kw)
    un_t = getattr(torch.nn, f"MaxUnpool{nd}d")(**unpool_kw)
    _close(un_l(v_l, i_l, output_size=shape), un_t(v_t, i_t, output_size=shape))
