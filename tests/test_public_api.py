"""The public namespaces show their API and nothing else.

Every module of lamina/frontend, lamina/nn, lamina/optim and lamina/onnx declares
`__all__`, re-exports nothing from numpy, typing or the compiler core, and
`lm.`, `lm.nn`, `lm.nn.functional`, `lm.optim`, `lm.onnx` list (in `dir()`) only
their `__all__` and their own subpackages: a `from lamina.frontend.ops import *`
without `__all__` once made `lm.np`, `lm.builtins`, `lm.hl` and `lm.emit` public."""

from __future__ import annotations

import importlib
import pkgutil
from types import MethodType, ModuleType, UnionType
from typing import get_args

import pytest

import lamina

NAMESPACES = ["lamina", "lamina.linalg", "lamina.nn", "lamina.nn.functional", "lamina.optim", "lamina.onnx",
              "lamina.optim.lr_scheduler", "lamina.utils", "lamina.utils.data",
              "lamina.distributed", "lamina.nn.parallel"]
PACKAGES = ["lamina.frontend", "lamina.nn", "lamina.optim", "lamina.onnx", "lamina.utils",
            "lamina.distributed"]
# names of helpers that leaked before (or could): none of them is lamina's API
NOT_API = {"np", "numpy", "builtins", "hl", "emit", "Any", "Sequence", "Callable", "Scalar",
           "TensorLike", "tensor_type", "with_location", "graphs", "annotations", "importlib",
           "math", "dataclass", "HlOp", "O", "pytree", "lazy"}
CORE = ("lamina.dialects", "lamina.passes", "lamina.codegen", "lamina.runtime", "lamina.tools")


def _modules() -> list[str]:
    names = ["lamina.api", "lamina.serialization"]
    for package in PACKAGES:
        names.append(package)
        path = importlib.import_module(package).__path__
        names += [m.name for m in pkgutil.walk_packages(path, package + ".")
                  if not m.name.rsplit(".", 1)[-1].startswith("_")]
    return names


def _import(name: str) -> ModuleType:
    if name.startswith("lamina.onnx"):
        pytest.importorskip("onnx")
    return importlib.import_module(name)


def _origin(obj: object) -> str | None:
    """The module that defines `obj` (None for plain data: a dict, a string)."""
    if isinstance(obj, ModuleType):
        return obj.__name__
    if isinstance(obj, MethodType):  # a classmethod of a lamina class (ONNX's backend API)
        return _origin(obj.__self__)
    return getattr(obj, "__module__", None)


def _lamina_api(obj: object) -> bool:
    if isinstance(obj, UnionType):  # a type alias: `State = Concrete | Lazy | Traced`
        return all(_lamina_api(arg) for arg in get_args(obj))
    origin = _origin(obj)
    return origin is None or (origin == "lamina" or origin.startswith("lamina.")) \
        and not origin.startswith(CORE)


@pytest.mark.parametrize("name", _modules())
def test_module_declares_its_api(name):
    module = _import(name)
    assert isinstance(getattr(module, "__all__", None), list), f"{name} has no __all__"
    assert len(set(module.__all__)) == len(module.__all__), f"{name}.__all__ has duplicates"
    for public in module.__all__:
        obj = getattr(module, public)  # an AttributeError names a stale entry
        assert _lamina_api(obj), f"{name}.__all__ re-exports {public!r} from {_origin(obj)}"
    assert not set(module.__all__) & NOT_API
    star: dict = {}
    exec(f"from {name} import *", star)
    assert set(star) - {"__builtins__"} == set(module.__all__)


@pytest.mark.parametrize("name", NAMESPACES)
def test_namespace_shows_only_its_api_and_subpackages(name):
    module = _import(name)
    shown = {n for n in dir(module) if not n.startswith("_")}
    subpackages = {n for n in shown if isinstance(getattr(module, n), ModuleType)
                   and getattr(module, n).__name__ == f"{name}.{n}"}
    assert set(module.__all__) <= shown
    assert shown - set(module.__all__) - subpackages == set()
    assert not shown & NOT_API


def test_lm_has_no_helper_attributes():
    for name in NOT_API:
        assert not hasattr(lamina, name), name
    assert lamina.float32 is lamina.api.float32 and lamina.Tensor is lamina.api.Tensor


def test_the_namespace_check_can_fail(monkeypatch):
    import lamina.nn.functional as F

    monkeypatch.setattr(F, "__all__", [*F.__all__, "with_location"])
    with pytest.raises(AssertionError):
        test_namespace_shows_only_its_api_and_subpackages("lamina.nn.functional")
    with pytest.raises(AssertionError):
        test_module_declares_its_api("lamina.nn.functional")
