"""lamina: a PyTorch-style tensor library compiled through an MLIR-style stack.

    import lamina as lm

    @lm.jit
    def predict(x, w, b):
        return lm.nn.functional.relu(x @ w + b)

The public API lives in `lamina.api` and loads on the first use of an `lm.`
attribute: importing the compiler core alone (`lamina.dialects`, `lamina.passes`,
`lamina-opt`) never loads the frontend, the runtime or Triton.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name.startswith("__") and name != "__all__":
        raise AttributeError(f"module 'lamina' has no attribute {name!r}")
    if importlib.util.find_spec(f"lamina.{name}") is not None:  # a subpackage or module
        return importlib.import_module(f"lamina.{name}")  # (`from lamina import dtypes`)
    api = importlib.import_module("lamina.api")
    namespace = globals()
    for public in api.__all__:
        namespace.setdefault(public, getattr(api, public))
    namespace.setdefault("__all__", list(api.__all__))
    if name not in namespace:
        raise AttributeError(f"module 'lamina' has no attribute {name!r}")
    return namespace[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(importlib.import_module("lamina.api").__all__))
