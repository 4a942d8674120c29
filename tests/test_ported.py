"""The port suite: PyTorch programs in tests/ported/ (written against torch, in the
style of pytorch/examples, the tutorials, nanoGPT) run unchanged under torch and, with
only their imports rewritten (`import torch` -> `import lamina as torch`, ...), under
lamina from the same initial weights and data. Their losses must agree for 20 steps.

A program's `main(data, init_state=None, steps=20)` returns (losses, initial state);
torch's initial state (numpy) is lamina's `init_state`."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from lamina.tools.port import load_program, port_source

PORTED = Path(__file__).parent / "ported"
rng = np.random.default_rng(0)


port = port_source  # (the rewrite itself is lamina.tools.port's)


def load(name: str, ported: bool) -> types.ModuleType:
    return load_program(PORTED / f"{name}.py", ported)


def _data(name: str) -> dict:
    r = np.random.default_rng(len(name))
    f32 = np.float32
    if name == "mlp":
        return {"x": r.standard_normal((200, 64)).astype(f32), "y": r.integers(0, 10, 200)}
    if name == "cnn_batchnorm":
        return {"images": r.standard_normal((64, 1, 12, 12)).astype(f32),
                "y": r.integers(0, 10, 64)}
    if name == "lstm_lm":
        return {"tokens": r.integers(0, 20, (40, 4))}
    if name == "vae":
        return {"pixels": r.uniform(0, 1, (4, 8, 64)).astype(f32),
                "noise": r.standard_normal((20, 8, 4)).astype(f32)}
    if name == "dcgan":
        return {"real": np.tanh(r.standard_normal((4, 4, 1, 16, 16))).astype(f32),
                "z": r.standard_normal((20, 4, 8, 1, 1)).astype(f32)}
    if name == "transformer_classifier":
        padding = np.zeros((5, 4, 6), bool)
        padding[:, 1, 4:] = True
        return {"tokens": r.integers(0, 16, (5, 4, 6)), "padding": padding,
                "labels": r.integers(0, 3, (5, 4))}
    if name == "poly_autograd":
        return {"w0": r.standard_normal(4).astype(f32)}
    if name == "gru_seq2seq":
        lengths = r.integers(2, 7, (4, 3))
        src = r.integers(1, 12, (4, 3, 6)) * (np.arange(6) < lengths[..., None])
        tgt = r.integers(1, 12, (4, 3, 5))
        tgt[:, :, 0] = 1
        tgt[:, 0, 4] = 0  # a padded target position (ignore_index)
        return {"src": src, "lengths": lengths, "tgt": tgt}
    if name == "nanogpt":
        return {"tokens": r.integers(0, 24, (4, 40))}
    if name == "wgan_gp":
        angle = r.uniform(0, 2 * np.pi, (20, 16))
        return {"real": np.stack([np.cos(angle), np.sin(angle)], -1).astype(f32),
                "z": r.standard_normal((20, 16, 4)).astype(f32),
                "eps": r.uniform(0, 1, (20, 16, 1)).astype(f32)}
    if name == "tcn_weightnorm":
        x = r.standard_normal((20, 8, 2, 16)).astype(f32)
        return {"x": x, "y": (x[:, :, 0, -4:].sum(-1, keepdims=True) * 0.3).astype(f32)}
    if name == "train_loop":
        x = r.standard_normal((80, 10)).astype(f32)
        return {"x": x, "y": (x[:, :3].argmax(1)).astype(np.int64)}
    raise KeyError(name)


PROGRAMS = sorted(p.stem for p in PORTED.glob("*.py"))
# eager lamina builds IR per op (issue 16 point 7), so the bigger programs take a minute
# each: make test runs the small ones on the interpreter, make test-slow all on C
FAST = {"mlp", "poly_autograd", "vae", "lstm_lm"}
CASES = [pytest.param(name, "interp", id=f"{name}-interp") for name in PROGRAMS
         if name in FAST]
CASES += [pytest.param(name, "c", id=f"{name}-c", marks=pytest.mark.slow) for name in PROGRAMS]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name,backend", CASES)
def test_ported_program_trains_as_under_torch(name, backend, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setenv("LAMINA_BACKEND", backend)
    data = _data(name)
    want, initial = load(name, ported=False).main(data)
    got, _ = load(name, ported=True).main(data, init_state=initial)
    assert len(got) == len(want)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5,
                               err_msg=f"{name}: losses differ from torch's")


def test_port_rewrites_only_imports():
    source = "import torch\nimport torch.nn as nn\nfrom torch.optim import lr_scheduler\n" \
             "x = torch.zeros(3)  # torch stays torch here\n"
    assert port(source) == ("import lamina as torch\nimport lamina.nn as nn\n"
                            "from lamina.optim import lr_scheduler\n"
                            "x = torch.zeros(3)  # torch stays torch here\n")
    assert "lamina" not in sys.modules.get("torch", types.ModuleType("t")).__name__
