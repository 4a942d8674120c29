"""`lm.amp`: mixed precision as a script written for torch expects it on this machine.

`autocast` is accepted as a context manager and decorator and computes in the
tensors' own dtypes: torch disables a "cuda" autocast where no GPU is visible (with a
warning), which is what lamina does for every device type (on "cpu" torch would
compute matmuls in bfloat16; lamina keeps float32, so results are at least as
accurate). `GradScaler` behaves as torch's disabled scaler: `scale(loss)` is the
loss, `step(optimizer)` steps it, `unscale_`/`update` do nothing, the scale is 1."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["GradScaler", "autocast"]


class autocast:  # noqa: N801 (torch's name)
    def __init__(self, device_type: str = "cuda", dtype: Any = None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        self.device_type, self.fast_dtype, self.enabled = device_type, dtype, False

    def __enter__(self) -> autocast:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)
        return wrapper


class GradScaler:
    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        self._enabled = False  # torch disables it where the device has no GPU

    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs: Any) -> Any:
        return outputs

    def unscale_(self, optimizer: Any) -> None:
        return None

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: Any = None) -> None:
        return None

    def get_scale(self) -> float:
        return 1.0

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        return None
