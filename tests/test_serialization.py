"""lm.save / lm.load: nested checkpoints round-trip through one safetensors file
that other safetensors readers read; training resumes from one exactly; torch.save'd
checkpoints load without torch's unpickler, and a malicious pickle is refused."""

from __future__ import annotations

import collections
import io
import math
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file

import lamina as lm
import lamina.nn as nn
import lamina.nn.functional as F


def _same(a, b):
    """Equal structure, types, dtypes and values (NaN equal to NaN)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, lm.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def test_nested_checkpoint_round_trips(tmp_path):
    shared = lm.tensor([1.0, 2.0])
    obj = {
        "model": collections.OrderedDict(w=np.arange(6, dtype=np.float32).reshape(2, 3)),
        "optimizer": {"state": {0: {"step": lm.tensor(3.0), "exp_avg": lm.zeros(2, 3)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "amsgrad": False,
                                        "foreach": None, "params": [0]}]},
        "epoch": 7, "best": float("inf"), "nan": float("nan"), "name": "run/1",
        "bf16": lm.tensor(np.array([1.5, -2.0], lm.bfloat16.np_dtype)),
        "mask": lm.tensor([True, False]),
        "param": lm.tensor([0.5], requires_grad=True), "tied": [shared, shared],
        "scalar": np.float64(2.5), "dtype": lm.float16, 3: "int key", "empty": lm.zeros(0, 4),
    }
    path = tmp_path / "ckpt.safetensors"
    lm.save(obj, path)
    _same(lm.load(path), obj)
    buffer = io.BytesIO()
    lm.save(obj, buffer)
    buffer.seek(0)
    _same(lm.load(buffer), obj)
    # any safetensors reader sees the tensors (a tied tensor is stored once)
    arrays = load_file(str(path))
    np.testing.assert_array_equal(arrays["optimizer.state.0.exp_avg"], np.zeros((2, 3)))
    assert sum(a.shape == (2,) and a.dtype == np.float32 for a in arrays.values()) == 1


def test_plain_safetensors_file_loads_as_a_dict(tmp_path):
    save_file({"a": np.ones((2, 2), np.float16), "b": np.arange(3)}, str(tmp_path / "p"))
    loaded = lm.load(tmp_path / "p")
    assert sorted(loaded) == ["a", "b"] and loaded["a"].dtype == lm.float16
    np.testing.assert_array_equal(loaded["b"].numpy(), np.arange(3))


def test_unsupported_objects_are_named():
    with pytest.raises(TypeError, match=r"cannot save a object at x\.1"):
        lm.save({"x": [1, object()]}, io.BytesIO())


def _model():
    lm.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))


def test_training_resumes_exactly_from_a_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((5, 4)).astype(np.float32),
                rng.standard_normal((5, 2)).astype(np.float32)) for _ in range(6)]

    def run(model, opt, sched, chunk):
        step = lm.jit(lambda x, y: (opt.zero_grad(), F.mse_loss(model(x), y).backward(),
                                    opt.step()))
        for x, y in chunk:
            step(x, y)
            sched.step()

    model = _model()
    opt = lm.optim.Adam(model.parameters(), lr=0.01)
    sched = lm.optim.lr_scheduler.StepLR(opt, 2, gamma=0.5)
    run(model, opt, sched, batches)
    want = model.state_dict()

    model = _model()
    opt = lm.optim.Adam(model.parameters(), lr=0.01)
    sched = lm.optim.lr_scheduler.StepLR(opt, 2, gamma=0.5)
    run(model, opt, sched, batches[:3])
    lm.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict()}, tmp_path / "ckpt")
    ckpt = lm.load(tmp_path / "ckpt")
    model = _model()
    opt = lm.optim.Adam(model.parameters(), lr=0.01)
    sched = lm.optim.lr_scheduler.StepLR(opt, 2, gamma=0.5)
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    sched.load_state_dict(ckpt["scheduler"])
    run(model, opt, sched, batches[3:])
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, want[k], err_msg=k)


# ---------------------------------------------------------------- torch checkpoints


def test_torch_state_dict_loads_with_equal_values(tmp_path):
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                                 torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 5))
    tmodel(torch.randn(2, 3, 6, 6))  # running statistics and num_batches_tracked move
    torch.save(tmodel.state_dict(), tmp_path / "model.pt")
    loaded = lm.load(tmp_path / "model.pt", map_location="cpu", weights_only=True)
    assert isinstance(loaded, collections.OrderedDict)
    assert list(loaded) == list(tmodel.state_dict())
    for k, v in tmodel.state_dict().items():
        assert loaded[k].dtype.name == str(v.dtype).removeprefix("torch."), k
        np.testing.assert_array_equal(loaded[k].numpy(), v.numpy(), err_msg=k)
    # and a lamina model takes them: the same outputs as torch's
    tlin = torch.nn.Linear(3, 2)
    torch.save(tlin.state_dict(), tmp_path / "lin.pth")
    lin = nn.Linear(3, 2)
    lin.load_state_dict(lm.load(tmp_path / "lin.pth"))
    x = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(lin(lm.tensor(x)).numpy(),
                               tlin(torch.tensor(x)).detach().numpy(), rtol=1e-6)


def test_torch_tensors_of_every_layout_and_dtype_load(tmp_path):
    base = torch.arange(24.0).reshape(4, 6)
    obj = {"transposed": base.t(), "slice": base[1:, ::2], "scalar": torch.tensor(3, dtype=torch.int64),
           "bf16": torch.tensor([1.5, 2.0], dtype=torch.bfloat16), "bool": torch.tensor([True]),
           "half": base.half()[0], "param": torch.nn.Parameter(torch.ones(2)),
           "size": torch.Size([2, 3]), "nested": [1, (2.5, "x"), None]}
    torch.save(obj, tmp_path / "t.pt")
    got = lm.load(tmp_path / "t.pt")
    for k in ("transposed", "slice", "scalar", "bool", "half"):
        np.testing.assert_array_equal(got[k].numpy(), obj[k].numpy(), err_msg=k)
    np.testing.assert_array_equal(got["bf16"].numpy().astype(np.float32), [1.5, 2.0])
    assert got["param"].requires_grad and got["size"] == (2, 3)
    assert got["nested"] == [1, (2.5, "x"), None]


def test_torch_optimizer_state_dict_loads_into_lamina(tmp_path):
    tp = torch.nn.Parameter(torch.ones(3))
    topt = torch.optim.Adam([tp], lr=0.1)
    tp.grad = torch.full((3,), 0.5)
    topt.step()
    torch.save(topt.state_dict(), tmp_path / "opt.pt")
    p = lm.ones(3, requires_grad=True)
    opt = lm.optim.Adam([p], lr=0.5)
    opt.load_state_dict(lm.load(tmp_path / "opt.pt"))
    assert opt.param_groups[0]["lr"] == 0.1
    np.testing.assert_allclose(opt.state[p]["exp_avg"].numpy(),
                               topt.state[tp]["exp_avg"].numpy())


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_a_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"weights": torch.ones(2), "payload": _Evil(marker)}, tmp_path / "evil.pt")
    with pytest.raises(pickle.UnpicklingError, match=r"refused the global (posix|os)\.system"):
        lm.load(tmp_path / "evil.pt")
    assert not marker.exists()
    # the same zip layout holding a hand-made pickle that calls builtins.eval
    payload = b"cbuiltins\neval\n(Vprint('pwned')\ntR."
    with zipfile.ZipFile(tmp_path / "evil2.pt", "w") as z:
        z.writestr("archive/data.pkl", payload)
    with pytest.raises(lm.LaminaError, match=r"builtins\.eval"):
        lm.load(tmp_path / "evil2.pt")
    # a bare pickle is not read at all, and weights_only=False is refused
    (tmp_path / "bare.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(pickle.UnpicklingError, match="not a safetensors file"):
        lm.load(tmp_path / "bare.pkl")
    with pytest.raises(ValueError, match="weights only"):
        lm.load(tmp_path / "evil.pt", weights_only=False)


def test_import_lamina_loads_neither_safetensors_nor_tensorboard():
    code = ("import sys, lamina as lm; lm.tensor([1.0]); import lamina.utils.data; "
            "print(sorted(m for m in ('safetensors', 'tensorboard', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.getcwd()}, check=True)
    assert out.stdout.strip() == "[]"
