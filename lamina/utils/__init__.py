"""`lm.utils`: torch.utils's data loading (`lm.utils.data`) and TensorBoard logging
(`lm.utils.tensorboard`, which needs the `tensorboard` package: `lamina[io]`).

The subpackages load on first use, so `import lamina` loads neither."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["data", "tensorboard"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"lamina.utils.{name}")
    raise AttributeError(f"module 'lamina.utils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return list(__all__)
