"""Lazy modules against torch's: the module each becomes, state_dict keys, outputs from
torch's weights, placeholders kept as the same objects (an optimizer made before the
first call trains them), loading a state dict before the first call, and a first call
inside lm.jit."""

import numpy as np
import pytest
import torch

import lamina as lm
import lamina.nn as nn

RNG = np.random.RandomState(0)

CASES = [
    ("LazyLinear", (4,), {}, (2, 3, 5)),
    ("LazyLinear", (4,), {"bias": False}, (2, 5)),
    ("LazyConv1d", (4, 3), {"padding": 1}, (2, 3, 7)),
    ("LazyConv2d", (6, 3), {"stride": 2, "groups": 3}, (2, 6, 7, 7)),
    ("LazyConv3d", (2, 2), {"bias": False}, (1, 3, 4, 4, 4)),
    ("LazyConvTranspose1d", (4, 3), {"stride": 2}, (2, 3, 6)),
    ("LazyConvTranspose2d", (4, 3), {"output_padding": 1, "stride": 2}, (2, 3, 5, 5)),
    ("LazyBatchNorm1d", (), {}, (4, 3)),
    ("LazyBatchNorm2d", (), {"momentum": 0.3}, (2, 3, 4, 4)),
    ("LazyBatchNorm3d", (), {"affine": False}, (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 5)),
    ("LazyInstanceNorm2d", (), {"track_running_stats": False}, (2, 3, 4, 4)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", CASES, ids=[c[0] + str(i) for i, c in enumerate(CASES)])
def test_lazy_module_becomes_torchs(name, args, kwargs, shape):
    x = RNG.randn(*shape).astype(np.float32)
    torch.manual_seed(0)
    ref = getattr(torch.nn, name)(*args, **kwargs)
    ours = getattr(nn, name)(*args, **kwargs)
    assert ours.has_uninitialized_params()
    before = list(ours.parameters())
    opt = lm.optim.SGD(before, lr=0.1) if before else None
    ref(torch.tensor(x))
    ours(lm.tensor(x))
    assert type(ours).__name__ == type(ref).__name__ and isinstance(ours, nn.Module)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert all(a is b for a, b in zip(before, ours.parameters(), strict=True))
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in ref.parameters()]
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    y_ref = ref(torch.tensor(x))
    y = ours(lm.tensor(x))
    np.testing.assert_allclose(y.numpy(), y_ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    if opt is not None:
        (y * y).sum().backward()
        opt.step()
        assert all(p.grad is not None for p in before)


def test_load_state_dict_before_the_first_call():
    torch.manual_seed(0)
    ref = torch.nn.LazyConv2d(4, 3, groups=2)
    ref(torch.zeros(1, 6, 5, 5))
    ours = nn.LazyConv2d(4, 3, groups=2)
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    assert type(ours) is nn.Conv2d and ours.in_channels == 6
    x = RNG.randn(1, 6, 5, 5).astype(np.float32)
    np.testing.assert_allclose(ours(lm.tensor(x)).numpy(), ref(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_first_call_inside_jit():
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(2))
    opt = lm.optim.SGD(model.parameters(), lr=0.05)

    @lm.jit
    def step(x):
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    x = lm.tensor(RNG.randn(4, 5).astype(np.float32))
    losses = [float(step(x)) for _ in range(3)]
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    assert losses[2] < losses[0]
    np.testing.assert_allclose(float((model(x) ** 2).mean()), float(step(x)), rtol=1e-5)
