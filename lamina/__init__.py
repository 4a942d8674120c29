"""lamina: a PyTorch-style tensor library compiled through an MLIR-style stack.

    import lamina as lm

    @lm.jit
    def predict(x, w, b):
        return lm.nn.functional.relu(x @ w + b)

The public API lives in `lamina.api` and loads on the first use of an `lm.`
attribute: importing the compiler core alone (`lamina.dialects`, `lamina.passes`,
`lamina-opt`) never loads the frontend, the runtime or Triton.
"""

from importlib import import_module as _import_module
from importlib.util import find_spec as _find_spec
from types import ModuleType as _ModuleType

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    if name.startswith("__") and name != "__all__":
        raise AttributeError(f"module 'lamina' has no attribute {name!r}")
    if _find_spec(f"lamina.{name}") is not None:  # a subpackage or module
        return _import_module(f"lamina.{name}")  # (`from lamina import dtypes`)
    api = _import_module("lamina.api")
    namespace = globals()
    for public in api.__all__:
        namespace.setdefault(public, getattr(api, public))
    namespace.setdefault("__all__", list(api.__all__))
    if name not in namespace:
        raise AttributeError(f"module 'lamina' has no attribute {name!r}")
    return namespace[name]


def __dir__() -> list[str]:
    """The API (`lamina.api.__all__`), the subpackages imported so far and the dunders:
    not the helpers this module imports for itself."""
    names = set(_import_module("lamina.api").__all__)
    for name, value in globals().items():
        if name.startswith("__") or isinstance(value, _ModuleType) \
                and value.__name__ == f"lamina.{name}":
            names.add(name)
    return sorted(names)
