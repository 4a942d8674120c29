"""What this machine has: a GPU, a C compiler. Checked without importing torch."""

from __future__ import annotations

import functools
import os
import shutil

from lamina import knobs


@functools.cache
def gpu_available() -> bool:
    """A CUDA or ROCm device is present (and triton is installed to drive it)."""
    if not (os.path.exists("/dev/nvidia0") or os.path.exists("/dev/kfd")):
        return False
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def c_compiler_available() -> bool:
    return shutil.which(knobs.cc()) is not None
