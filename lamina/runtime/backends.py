"""Backends: a name, a named pipeline, a `compile(module)` that returns a `Program`.

A backend takes a traced `hl` module (one `func.func @main`), runs its pipeline
(`lamina.passes.registry.PIPELINES`) and returns a `Program`: a callable from numpy
arrays to numpy arrays, plus the IR of every level it went through and the source it
generated, for `.lower()`. `BACKENDS` is the one table of them; each is imported on
first use.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from lamina import knobs
from lamina.errors import LaminaError, with_location

if TYPE_CHECKING:  # the pass pipeline is imported by a compile, never by a warm start
    from lamina.passes.pipeline import Dump


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
    pipeline: str = ""  # the named pipeline its compile runs

    def compile(self, module: ModuleOp, dump: Dump | None = None) -> Program:
        raise NotImplementedError


# name -> "module:Class"
BACKENDS: dict[str, str] = {
    "c": "lamina.runtime.c_backend:CBackend",
    "triton": "lamina.runtime.triton_backend:TritonBackend",
    "interp": "lamina.runtime.backends:InterpBackend",
}
_INSTANCES: dict[str, Backend] = {}


def get(name: str | None = None) -> Backend:
    name = name or default_name()
    if name not in BACKENDS:
        raise LaminaError(with_location(
            f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}"))
    if name not in _INSTANCES:
        module, _, cls = BACKENDS[name].partition(":")
        _INSTANCES[name] = getattr(importlib.import_module(module), cls)()
    return _INSTANCES[name]


def available() -> list[str]:
    """The backends this machine can run: interp always, c with a C compiler, triton
    with the triton and torch packages (a GPU, or Triton's interpreter on the CPU)."""
    from lamina.runtime import devices

    names = ["interp"]
    if devices.c_compiler_available():
        names.append("c")
    if all(importlib.util.find_spec(p) is not None for p in ("triton", "torch")):
        names.append("triton")
    return names


def default_name() -> str:
    chosen = knobs.backend()
    if chosen:
        return chosen
    from lamina.runtime import devices

    if devices.gpu_available():
        return "triton"
    if devices.c_compiler_available():
        return "c"
    return "interp"


class InterpBackend(Backend):
    """The numpy reference interpreter of hl, as a backend."""

    name = "interp"
    pipeline = "hl-simplify"

    def compile(self, module: ModuleOp, dump: Dump | None = None) -> Program:
        from lamina.passes.pipeline import run_pipeline
        from lamina.runtime import interp

        module = module.clone()  # the trace's module stays as traced (Trace.module)
        levels = run_pipeline(module, self.pipeline, dump)
        fn = interp.find_function(module)
        return Program("interp", lambda args: interp.run_function(fn, args), levels=levels)

    def compile_sized(self, modules: Sequence[ModuleOp], bindings: Sequence,
                      dump: Dump | None = None) -> Program:
        """One program for every size of a symbolic dim (`lamina.runtime.dynamic`): the
        pipeline runs on the two probe modules once; each size instantiates the hl."""
        from lamina.passes.pipeline import run_pipeline
        from lamina.runtime import dynamic, interp

        works = [m.clone() for m in modules]
        levels = run_pipeline(works[0], self.pipeline, dump)
        run_pipeline(works[1], self.pipeline, None)
        template = dynamic.HlTemplate(works[0], works[1])
        fns = [interp.find_function(w) for w in works]
        inputs = dynamic.generalize_shapes(*[[t.get_shape() for t in f.function_type.inputs.data]
                                             for f in fns])
        run = dynamic.SizedInterp(template, fns[0].sym_name.data, inputs, list(bindings))
        return Program("interp", run, levels=levels)
