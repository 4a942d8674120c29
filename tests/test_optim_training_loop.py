"""A PyTorch training script that ports by its imports: DataLoader with worker
processes, AdamW + OneCycleLR, a checkpoint saved, reloaded into fresh objects and
resumed, TensorBoard logging. The same function runs with `lib = torch` and
`lib = lamina` from the same initial weights; losses agree for 20 eager steps and
the logged scalars read back equal them."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lamina as lm

EPOCHS, BATCH, N = 2, 16, 160


def _program(lib, weights, data, order, logdir, ckpt):
    """Written as a torch user writes it; only `lib` differs."""
    nn, F = lib.nn, lib.nn.functional
    DataLoader, TensorDataset = lib.utils.data.DataLoader, lib.utils.data.TensorDataset
    SummaryWriter = importlib.import_module(f"{lib.__name__}.utils.tensorboard").SummaryWriter

    def build():
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
        model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
        opt = lib.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05,
                                                  total_steps=EPOCHS * N // BATCH)
        return model, opt, sched

    x, y = data
    loader = DataLoader(TensorDataset(lib.tensor(x), lib.tensor(y)), batch_size=BATCH,
                        sampler=order, num_workers=2)
    model, opt, sched = build()
    losses = []
    with SummaryWriter(logdir) as writer:
        for epoch in range(EPOCHS):
            for xb, yb in loader:
                opt.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
                sched.step()
                losses.append(loss.item())
                writer.add_scalar("train/loss", loss.item(), len(losses))
            if epoch == 0:  # checkpoint, and resume from it in fresh objects
                lib.save({"model": model.state_dict(), "opt": opt.state_dict(),
                          "sched": sched.state_dict(), "epoch": epoch}, ckpt)
                model, opt, sched = build()
                state = lib.load(ckpt)
                model.load_state_dict(state["model"])
                opt.load_state_dict(state["opt"])
                sched.load_state_dict(state["sched"])
    return losses, {k: np.asarray(v) for k, v in model.state_dict().items()}


@pytest.mark.slow  # 20 eager steps: ~9 s
def test_ported_training_script_matches_torch(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, 8)).astype(np.float32)
    y = rng.integers(0, 3, N)
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(),
                                 torch.nn.Linear(16, 3))
    weights = {k: v.numpy() for k, v in tmodel.state_dict().items()}
    order = rng.permutation(N).tolist()  # one shuffle for both (their RNGs differ)
    want, t_params = _program(torch, weights, (x, y), order, str(tmp_path / "t"),
                              tmp_path / "t.pt")
    got, params = _program(lm, weights, (x, y), order, str(tmp_path / "l"),
                           tmp_path / "l.safetensors")
    assert len(got) == EPOCHS * N // BATCH == 20
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for k, v in t_params.items():
        np.testing.assert_allclose(params[k], v, rtol=1e-4, atol=1e-6, err_msg=k)
    logged = EventAccumulator(str(tmp_path / "l")).Reload().Scalars("train/loss")
    assert [e.step for e in logged] == list(range(1, 21))
    assert [e.value for e in logged] == pytest.approx(got, rel=1e-6)
