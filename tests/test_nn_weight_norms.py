"""weight_norm and spectral_norm, in torch's hook form (`nn.utils.weight_norm`) and its
parametrization form (`nn.utils.parametrizations`), against torch: state_dict keys,
outputs and gradients over several training steps (the power iteration updates its
buffers in training mode only), eager and jitted, and removal."""

import numpy as np
import pytest
import torch

import lamina as lm
import lamina.nn as nn

RNG = np.random.RandomState(0)
X = RNG.randn(5, 4, 6, 6).astype(np.float32)


def _pair(kind, module):
    torch.manual_seed(0)
    ref = {"linear": lambda: torch.nn.Linear(6, 3), "conv": lambda: torch.nn.Conv2d(4, 3, 3),
           "convT": lambda: torch.nn.ConvTranspose2d(4, 3, 3)}[module]()
    ours = {"linear": lambda: nn.Linear(6, 3), "conv": lambda: nn.Conv2d(4, 3, 3),
            "convT": lambda: nn.ConvTranspose2d(4, 3, 3)}[module]()
    apply_ref, apply_ours = {
        "weight_norm": (torch.nn.utils.weight_norm, nn.utils.weight_norm),
        "spectral_norm": (torch.nn.utils.spectral_norm, nn.utils.spectral_norm),
        "p_weight_norm": (torch.nn.utils.parametrizations.weight_norm,
                          nn.utils.parametrizations.weight_norm),
        "p_spectral_norm": (torch.nn.utils.parametrizations.spectral_norm,
                            nn.utils.parametrizations.spectral_norm),
    }[kind]
    ref, ours = apply_ref(ref), apply_ours(ours)
    state = {k: v.detach().numpy().copy() for k, v in ref.state_dict().items()}
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict(state)
    return ref, ours


KINDS = ["weight_norm", "spectral_norm", "p_weight_norm", "p_spectral_norm"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("module", ["linear", "conv", "convT"])
def test_training_steps_match_torch(kind, module):
    ref, ours = _pair(kind, module)
    opt_ref = torch.optim.SGD(ref.parameters(), lr=0.1)
    opt = lm.optim.SGD(ours.parameters(), lr=0.1)
    for step in range(3):
        ref.train(step != 2)
        ours.train(step != 2)
        y_ref = ref(torch.tensor(X))
        loss_ref = (y_ref ** 2).mean()
        opt_ref.zero_grad()
        loss_ref.backward()
        opt_ref.step()
        y = ours(lm.tensor(X))
        loss = (y ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        np.testing.assert_allclose(y.numpy(), y_ref.detach().numpy(), rtol=2e-4, atol=2e-5)
    for key, value in ref.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(),
                                   rtol=2e-4, atol=2e-5, err_msg=key)


@pytest.mark.parametrize("kind", ["spectral_norm", "p_weight_norm", "p_spectral_norm"])
def test_jitted_step_matches_eager(kind):
    _, eager = _pair(kind, "linear")
    _, jitted = _pair(kind, "linear")
    x = lm.tensor(X)

    def step(model, opt):
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    opt_e, opt_j = lm.optim.SGD(eager.parameters(), lr=0.1), lm.optim.SGD(jitted.parameters(), lr=0.1)
    compiled = lm.jit(lambda: step(jitted, opt_j))
    for _ in range(3):
        np.testing.assert_allclose(compiled().numpy(), step(eager, opt_e).numpy(), rtol=1e-5)
    for key, value in eager.state_dict().items():
        np.testing.assert_allclose(jitted.state_dict()[key].numpy(), value.numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=key)


def test_parametrize_api():
    from lamina.nn.utils import parametrize

    class Symmetric(nn.Module):
        def forward(self, w):
            return w.triu() + w.triu(1).T

    layer = nn.Linear(3, 3)
    param = layer.weight
    parametrize.register_parametrization(layer, "weight", Symmetric())
    assert parametrize.is_parametrized(layer) and parametrize.is_parametrized(layer, "weight")
    assert type(layer).__name__ == "ParametrizedLinear"
    assert parametrize.type_before_parametrizations(layer) is nn.Linear
    w = layer.weight.numpy()
    np.testing.assert_array_equal(w, w.T)
    assert layer.parametrizations.weight.original is param  # optimizers still hold it
    parametrize.remove_parametrizations(layer, "weight")
    assert type(layer) is nn.Linear and not parametrize.is_parametrized(layer)
    np.testing.assert_array_equal(layer.weight.numpy(), w)
    assert list(layer.state_dict()) == ["bias", "weight"]  # (re-registered last, as torch)


@pytest.mark.parametrize("kind", ["weight_norm", "spectral_norm"])
def test_remove_hook_forms(kind):
    ref, ours = _pair(kind, "conv")
    ours.eval()
    ref.eval()
    before = ours(lm.tensor(X)).numpy()
    getattr(nn.utils, "remove_" + kind)(ours)
    getattr(torch.nn.utils, "remove_" + kind)(ref)
    assert list(ours.state_dict()) == list(ref.state_dict())
    np.testing.assert_allclose(ours(lm.tensor(X)).numpy(), before, rtol=1e-6)
