"""`lm.cuda`: the answers scripts probe for before choosing a device.

lamina's tensors do not live on a device: a program runs where its backend puts it
(C on the CPU, Triton on a GPU), and `t.to("cuda")` / `t.cuda()` are accepted and
change nothing. So `is_available()` tells whether a CUDA GPU is visible to this
process (as torch would on this machine), and the bookkeeping calls (`synchronize`,
`empty_cache`, seeds) are harmless. The check reads the driver's device nodes, not
Triton, so it costs no import."""

from __future__ import annotations

import glob
import os

from lamina.frontend.random import manual_seed as _manual_seed

__all__ = ["device_count", "empty_cache", "get_device_name", "is_available",
           "manual_seed", "manual_seed_all", "synchronize"]


def device_count() -> int:
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return 0
    return len(glob.glob("/dev/nvidia[0-9]*"))


def is_available() -> bool:
    return device_count() > 0


def get_device_name(device: object = None) -> str:
    if not is_available():
        raise RuntimeError("Torch not compiled with CUDA enabled: no CUDA device is visible")
    return "NVIDIA GPU (through Triton)"


def synchronize(device: object = None) -> None:
    """lamina's calls return when their results are written: nothing to wait for."""


def empty_cache() -> None:
    """lamina frees device buffers when their tensors die: nothing is cached."""


def manual_seed(seed: int) -> None:
    _manual_seed(seed)


manual_seed_all = manual_seed
