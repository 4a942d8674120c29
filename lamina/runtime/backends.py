"""Backends: a name, a `compile(module)` that returns a `Program`.

A backend takes an `hl` module (one `func.func @main`, already simplified) and
returns a `Program`: a callable from numpy arrays to numpy arrays, plus the IR
of every level it went through and the source it generated, for `.lower()`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from lamina import knobs
from lamina.errors import LaminaError, with_location


@dataclass
class Program:
    backend: str
    run: Callable[[Sequence[np.ndarray]], list[np.ndarray]]
    levels: dict[str, str] = field(default_factory=dict)  # "hl", "loop", "hw" -> IR text
    source: str | None = None
    kernel_count: int = 0

    def __call__(self, args: Sequence[np.ndarray], donate: bool = False) -> list[np.ndarray]:
        """`donate`: the caller gives up the inputs that the program writes its donated
        outputs into (C backend, `Runner.donated`); other backends ignore it."""
        if donate and getattr(self.run, "donated", None):
            return self.run(args, donate=True)  # type: ignore[call-arg]
        return self.run(args)


class Backend:
    name: str = ""

    def compile(self, module: ModuleOp) -> Program:
        raise NotImplementedError


_REGISTRY: dict[str, Callable[[], Backend]] = {}
_INSTANCES: dict[str, Backend] = {}


def register(name: str, factory: Callable[[], Backend]) -> None:
    _REGISTRY[name] = factory


def get(name: str | None = None) -> Backend:
    name = name or default_name()
    if name not in _REGISTRY:
        raise LaminaError(with_location(
            f"unknown backend {name!r}; choose one of {sorted(_REGISTRY)}"))
    if name not in _INSTANCES:
        _INSTANCES[name] = _REGISTRY[name]()
    return _INSTANCES[name]


def default_name() -> str:
    chosen = knobs.backend()
    if chosen:
        return chosen
    from lamina.runtime import devices

    if "triton" in _REGISTRY and devices.gpu_available():
        return "triton"
    if "c" in _REGISTRY and devices.c_compiler_available():
        return "c"
    return "interp"


class InterpBackend(Backend):
    """The numpy reference interpreter of hl, as a backend."""

    name = "interp"

    def compile(self, module: ModuleOp) -> Program:
        from lamina.runtime import interp

        fn = interp.find_function(module)
        return Program("interp", lambda args: interp.run_function(fn, args),
                       levels={"hl": str(module)})


register("interp", InterpBackend)
