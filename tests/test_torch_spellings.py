"""torch's spellings real programs use beyond the ops (issue 16 point 8): grad-mode
switches, inference_mode, from_numpy sharing memory, the default dtype, devices, legacy
type names, f-string formatting of a loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm


def test_grad_mode_switches_as_torch():
    for lib in (torch, lm):
        lib.set_grad_enabled(False)
        assert not lib.is_grad_enabled()
        lib.set_grad_enabled(True)
        with lib.set_grad_enabled(False):
            assert not lib.is_grad_enabled()
        assert lib.is_grad_enabled()
        with lib.inference_mode():
            y = lib.ones(2, requires_grad=True) * 2
        assert not y.requires_grad
        with lib.inference_mode(False):
            z = lib.ones(2, requires_grad=True) * 2
        assert z.requires_grad


def test_from_numpy_shares_memory_and_default_dtype():
    a = np.zeros(3, np.float32)
    t = lm.from_numpy(a)
    a[0] = 5.0
    assert float(t[0]) == 5.0 and lm.is_tensor(t) and not lm.is_tensor(a) and lm.numel(t) == 3
    with pytest.raises(TypeError):
        lm.from_numpy([1.0, 2.0])
    assert lm.get_default_dtype() == lm.float32
    lm.set_default_dtype(lm.float64)
    try:
        assert lm.tensor([1.5]).dtype == lm.float64 and lm.ones(2).dtype == lm.float64
    finally:
        lm.set_default_dtype(lm.float32)
    with pytest.raises(TypeError):
        lm.set_default_dtype(lm.int64)


def test_device_type_and_format():
    t = lm.tensor(1.23456)
    assert f"{t:.2f}" == f"{torch.tensor(1.23456):.2f}" == "1.23"
    assert t.device == lm.device("cpu") == "cpu" and not t.is_cuda and t.pin_memory() is t
    for dtype, name in ((lm.float32, "torch.FloatTensor"), (lm.int64, "torch.LongTensor"),
                        (lm.bool, "torch.BoolTensor")):
        assert lm.ones(2, dtype=dtype).type() == name
    assert t.type("torch.DoubleTensor").dtype == lm.float64
    assert t.type(lm.float16).dtype == lm.float16 and t.nelement() == 1
